// Shared plumbing for the benches: one temp root per bench (removed on exit, whatever happens),
// child processes with timing, a compact table and the PASS/MISS verdict. Benches never assert.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = path.join(ROOT, 'dist');
export const CLI = path.join(DIST, 'cli.js');

const cleanups = [];
const exitHooks = [];
let exiting = false;

/** Runs every registered cleanup once, last registered first (servers before the dir they live in). */
export async function cleanUp() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup failed: ${err?.message ?? err}`);
    }
  }
}

export function onCleanUp(fn) {
  cleanups.push(fn);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    if (exiting) return;
    exiting = true;
    await cleanUp();
    process.exit(130);
  });
}
process.once('exit', () => {
  // Last resort after a crash: synchronous hooks (kill servers, remove temp roots), newest first.
  for (const fn of exitHooks.reverse()) {
    try {
      fn();
    } catch {
      // Best effort: the process is exiting.
    }
  }
});

/** A synchronous hook for process exit (a crash skips cleanUp()); returns its remover. */
export function onExitSync(fn) {
  exitHooks.push(fn);
  return () => exitHooks.splice(exitHooks.indexOf(fn) >>> 0, 1);
}

/** A private temp dir for one bench; removed by cleanUp() or at exit. */
export function createBenchRoot(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mass-ingest-bench-${name}-`));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  const unhook = onExitSync(remove);
  onCleanUp(() => {
    remove();
    unhook();
  });
  return dir;
}

/** A minimal, isolated environment: no global git config, HOME and TMPDIR inside the bench root. */
export function isolatedEnv(root, extra = {}) {
  const home = path.join(root, 'home');
  const tmp = path.join(root, 'tmp');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(tmp, { recursive: true });
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Bench',
    GIT_AUTHOR_EMAIL: 'bench@example.invalid',
    GIT_COMMITTER_NAME: 'Bench',
    GIT_COMMITTER_EMAIL: 'bench@example.invalid',
    ...extra,
  };
}

/**
 * Runs a command to completion; resolves with exit code, output and wall time (never rejects on
 * a non-zero exit). A bounded timeout kills the command so no bench can hang.
 */
export function run(command, args, { env, cwd, input, timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const started = performance.now();
    const child = spawn(command, args, { env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        startedAt,
        ms: performance.now() - started,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    if (input !== undefined) {
      child.stdin.on('error', () => undefined); // the command may exit without reading its input
      child.stdin.end(input);
    }
  });
}

/** Like run() but throws with the output when the command fails (for setup steps). */
export async function runChecked(command, args, options) {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}\n${result.stderr}${result.stdout}`);
  }
  return result;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const fmtMs = (ms) => (!Number.isFinite(ms) ? "-" : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
export const fmtX = (ratio) => (Number.isFinite(ratio) ? `${ratio.toFixed(ratio >= 10 ? 1 : 2)}×` : "-");
export const fmtMiB = (kib) => `${(kib / 1024).toFixed(0)} MiB`;

/** PASS/MISS for `value <= goal` (cmp 'max') or `value >= goal` (cmp 'min'). */
export function verdict(value, goal, cmp) {
  if (!Number.isFinite(value)) return 'MISS (no measurement)';
  return (cmp === 'max' ? value <= goal : value >= goal) ? 'PASS' : 'MISS';
}

/** Prints rows (arrays of cells) under a header as an aligned, compact table. */
export function printTable(header, rows) {
  const all = [header, ...rows].map((row) => row.map((cell) => String(cell)));
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]?.length ?? 0)));
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(all[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of all.slice(1)) console.log(line(row));
}

/** The machine's load, printed with the figures: on a shared 2-core box wall times move with it. */
export function loadNote() {
  const [one, five] = os.loadavg();
  return `machine: ${os.cpus().length} CPUs, load average ${one.toFixed(1)} (1 min), ${five.toFixed(1)} (5 min)`;
}
