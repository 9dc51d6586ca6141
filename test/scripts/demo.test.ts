import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, collect } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const DEMO = path.resolve(import.meta.dirname, '../../scripts/demo.js');

let tmp: TempDir;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-demo-');
});

afterAll(async () => {
  await tmp.remove();
});

/** Every file under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name))).sort();
}

const runDemo = (demoDir: string, home: string) =>
  collect(
    spawn(process.execPath, [DEMO], {
      // A HOME of its own shows what the demo would leave in yours (cargo's and npm's caches);
      // rustup's toolchains stay where they are installed.
      env: baseEnv({ MASS_INGEST_DEMO_DIR: demoDir, HOME: home, RUSTUP_HOME: process.env.RUSTUP_HOME ?? path.join(os.homedir(), '.rustup'), LOG_FORMAT: 'json' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );

describe('npm run demo (scripts/demo.js)', () => {
  it('builds its five repositories offline, prints the report, and writes nothing outside its directory', async () => {
    const demoDir = path.join(tmp.path, 'demo');
    const home = path.join(tmp.path, 'home');
    await fs.mkdir(home);

    const result = await runDemo(demoDir, home);

    expect(result.code, result.stderr).toBe(0);
    const finished = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; path?: string; outcome?: string })
      .filter((line) => line.msg === 'Repository finished')
      .map((line) => [line.path, line.outcome])
      .sort();
    expect(finished).toEqual([
      ['demo/broken-build', 'build_failed'],
      ['demo/docs-only', 'no_build_tool'],
      ['demo/hello-cargo', 'published'],
      ['demo/hello-make', 'published'],
      ['demo/hello-npm', 'published'],
    ]);
    expect(result.stdout).toMatch(/published\s+3/);
    const published = await filesUnder(path.join(demoDir, 'artifacts'));
    expect(published.filter((file) => file.endsWith('manifest.json'))).toHaveLength(3);
    expect(published.some((file) => file.endsWith('hello-npm-1.0.0.tgz'))).toBe(true);
    expect(await filesUnder(home)).toEqual([]);
  }, 300_000);

  it('refuses to empty a directory it did not make, and changes nothing in it', async () => {
    const mine = path.join(tmp.path, 'mine');
    await fs.mkdir(mine);
    await fs.writeFile(path.join(mine, 'notes.txt'), 'keep\n');

    const result = await runDemo(mine, tmp.path);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`demo: ${mine} exists and was not made by the demo`);
    expect(await filesUnder(mine)).toEqual(['notes.txt']);
  });
});
