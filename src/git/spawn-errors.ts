import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { isOutOfDescriptors } from '../errors.js';

/**
 * simple-git loses a git that cannot start for want of file descriptors: node's spawn returns
 * without the child's pipes (EMFILE, ENFILE), simple-git fails reading them (its promise rejects
 * with a TypeError that says nothing of why) before it listens for the child's 'error', and that
 * error, unheard, ended the processor (exit 3, the rows in flight unrecorded). Each child process
 * made inside `withSpawnErrors` is listened to from its creation (node's `child_process`
 * diagnostics channel), and a child that could not start for want of descriptors is what the
 * call fails with.
 */
const calls = new AsyncLocalStorage<{ error?: Error }>();
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  subscribe('child_process', (message) => {
    const call = calls.getStore();
    if (call) (message as { process: ChildProcess }).process.once('error', (err) => (call.error ??= err));
  });
}

/** `work`, failing with the error of a process it could not start (`spawn git EMFILE`) rather than what followed it. */
export async function withSpawnErrors<T>(work: () => Promise<T>): Promise<T> {
  listen();
  const call: { error?: Error } = {};
  try {
    return await calls.run(call, work);
  } catch (err) {
    // The child's 'error' comes on the next tick after spawn returns, maybe after simple-git's rejection.
    await new Promise<void>((resolve) => setImmediate(resolve));
    throw isOutOfDescriptors(call.error) ? call.error : err;
  }
}
