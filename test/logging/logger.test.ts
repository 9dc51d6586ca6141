import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOGGER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/logging/logger.js');
const SCRUB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/logging/scrub.js');

describe('createLogger', () => {
  it('writes pretty lines without colour codes when its output is not a terminal', () => {
    const script = `const { createLogger } = await import(${JSON.stringify(LOGGER)});
      createLogger({ level: 'info', format: 'pretty', scrub: (t) => t, fd: 1 }).warn({ row: 3 }, 'Repository finished');`;

    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });

    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Repository finished');
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('logs an error with its type, message and stack, secrets scrubbed from each', () => {
    const script = `const { createLogger } = await import(${JSON.stringify(LOGGER)});
      const { createScrubber } = await import(${JSON.stringify(SCRUB)});
      const log = createLogger({ level: 'info', format: 'json', scrub: createScrubber(['hunter2-token']), fd: 1 });
      const err = Object.assign(new TypeError('refused hunter2-token at https://bob:pw@git.test/a.git'), { code: 'E_REFUSED' });
      log.warn({ err, step: 'clone' }, 'Clone failed, retrying');`;

    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const line = JSON.parse(result.stdout) as { err: { type: string; message: string; stack: string; code: string } };

    expect(line.err).toEqual(expect.objectContaining({ type: 'TypeError', message: 'refused *** at https://***@git.test/a.git', code: 'E_REFUSED' }));
    expect(line.err.stack.split('\n')[0]).toBe('TypeError: refused *** at https://***@git.test/a.git');
    expect(result.stdout).not.toContain('hunter2-token');
  });

  it('scrubs the message pino takes from an error logged without one', () => {
    const script = `const { createLogger } = await import(${JSON.stringify(LOGGER)});
      const { createScrubber } = await import(${JSON.stringify(SCRUB)});
      const log = createLogger({ level: 'info', format: 'json', scrub: createScrubber(['hunter2-token']), fd: 1 });
      const err = new Error('refused hunter2-token at https://bob:pw@git.test/a.git');
      log.error(err);
      log.error({ err });`;

    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const lines = result.stdout.trim().split('\n').map((text) => JSON.parse(text) as { msg: string });

    expect(lines.map((line) => line.msg)).toEqual(['refused *** at https://***@git.test/a.git', 'refused *** at https://***@git.test/a.git']);
    expect(result.stdout).not.toContain('hunter2-token');
  });

  it('logs an error below the top level of a line with its message and stack, scrubbed', () => {
    const script = `const { createLogger } = await import(${JSON.stringify(LOGGER)});
      const { createScrubber } = await import(${JSON.stringify(SCRUB)});
      const log = createLogger({ level: 'info', format: 'json', scrub: createScrubber(['hunter2-token']), fd: 1 });
      const cause = new Error('socket closed by hunter2-token');
      const err = Object.assign(new RangeError('refused https://bob:pw@git.test/a.git', { cause }), { code: 'E_REFUSED' });
      log.warn({ detail: { err }, step: 'publish' }, 'Publish failed');`;

    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const line = JSON.parse(result.stdout) as { detail: { err: { type: string; message: string; stack: string; code: string; cause: { message: string } } } };

    expect(line.detail.err).toEqual(expect.objectContaining({ type: 'RangeError', message: 'refused https://***@git.test/a.git', code: 'E_REFUSED' }));
    expect(line.detail.err.stack.split('\n')[0]).toBe('RangeError: refused https://***@git.test/a.git');
    expect(line.detail.err.cause.message).toBe('socket closed by ***');
    expect(result.stdout).not.toContain('hunter2-token');
  });
});
