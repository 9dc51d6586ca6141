import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, baseEnv, collect } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

let tmp: TempDir;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-bundle-');
});

afterAll(async () => {
  await tmp.remove();
});

describe('the bundled CLI (scripts/bundle.js)', () => {
  it("opens a database without loading node's fetch implementation (pg's Cloudflare probe)", async () => {
    const probe = path.join(tmp.path, 'probe.cjs');
    await fs.writeFile(probe, "process.on('exit', () => process.stderr.write(`undici loaded: ${process.moduleLoadList.some((m) => m.includes('undici'))}\\n`));\n");
    const env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db') });

    const result = await collect(spawn(process.execPath, ['--require', probe, CLI, 'db', 'migrate'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));

    expect(result.code).toBe(0);
    expect(result.stderr).toContain('undici loaded: false');
  });
});
