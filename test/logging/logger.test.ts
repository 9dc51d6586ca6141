import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOGGER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/logging/logger.js');

describe('createLogger', () => {
  it('writes pretty lines without colour codes when its output is not a terminal', () => {
    const script = `const { createLogger } = await import(${JSON.stringify(LOGGER)});
      createLogger({ level: 'info', format: 'pretty', scrub: (t) => t, fd: 1 }).warn({ row: 3 }, 'Repository finished');`;

    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });

    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Repository finished');
    expect(result.stdout).not.toContain('\u001b[');
  });
});
