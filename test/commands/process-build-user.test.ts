import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, type CliResult } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { makeFixture, openForAssertions, type Fixture } from './process-fixtures.js';

// What a build (the repository's own code) can reach of the processor's secrets: its build.log
// path, the processor's environment, git's credential file. A build that relinks build.log is
// handled for every user; the environment and the files need BUILD_USER (the processor as root).

const SECRET = 'TOPSECRET-build-user-4f1c';
const CREDENTIALS = `https://user:${SECRET}@git.invalid`;
const IS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/** Writes, under dist/, what the build could see; each file is an artifact. */
const PROBE = `set -u
mkdir -p dist
id -u > dist/uid.txt
printf '%s\\n' "$HOME" > dist/home.txt
if touch "$HOME/.probe" 2>/dev/null; then echo yes; else echo no; fi > dist/home-writable.txt
n=0
for f in /proc/[0-9]*/environ; do
  if tr '\\0' '\\n' < "$f" 2>/dev/null | grep -q TOPSECRET; then n=$((n+1)); fi
done
echo "$n" > dist/environ-leaks.txt
(cat /tmp/mass-ingest-cred-*/credentials 2>/dev/null || true) | grep -c TOPSECRET > dist/credential-leaks.txt || true
ls -d /tmp/mass-ingest-cred-* 2>/dev/null | wc -l > dist/credential-dirs.txt
if ln -sf /etc/hostname ../build.log 2>/dev/null; then echo yes; else echo no; fi > dist/log-replaced.txt
`;
// Links build.log to the credential file that holds this test's secret (not another test's).
const RELINK_TO_CREDENTIALS = `for d in /tmp/mass-ingest-cred-*; do grep -q ${SECRET} "$d/credentials" 2>/dev/null && ln -sf "$d/credentials" ../build.log; done; mkdir -p dist; echo built > dist/ok.txt`;

let tmp: TempDir;
let fixture: Fixture;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-build-user-');
  // The builds' user must be able to pass through to the work directory.
  await fs.chmod(tmp.path, 0o711);
  fixture = await makeFixture(tmp.path, [
    ['acme/probe', { 'probe.sh': PROBE, Makefile: 'all:\n\tsh probe.sh\n' }],
    ['acme/relink', { Makefile: `all:\n\t${RELINK_TO_CREDENTIALS.replaceAll('$', () => '$$')}\n` }],
    ['acme/relink-failed', { Makefile: 'all:\n\techo about to fail\n\tln -sf /proc/self/environ ../build.log\n\texit 1\n' }],
  ]);
});

afterAll(async () => {
  await tmp?.remove();
});

async function processRows(runId: string, rows: string[], extraEnv: Record<string, string> = {}) {
  const inventory = path.join(tmp.path, `${runId}.csv`);
  const lines = (await fs.readFile(fixture.inventory, 'utf8')).split('\n');
  await fs.writeFile(inventory, [lines[0], ...lines.filter((line) => rows.some((row) => line.endsWith(`,${row}`)))].join('\n') + '\n');
  const dataDir = path.join(tmp.path, `db-${runId}`);
  const publishDir = path.join(tmp.path, `artifacts-${runId}`);
  const workdir = path.join(tmp.path, `work-${runId}`);
  const env = baseEnv({ MASS_INGEST_DATA_DIR: dataDir, PUBLISH_URL: publishDir, MASS_INGEST_WORKDIR: workdir, GIT_CREDENTIALS: CREDENTIALS, ...extraEnv });
  const result = await runCli(['process', inventory, '--run-id', runId], { env });
  const db = await openForAssertions({ dataDir });
  const recorded = await db
    .query<{ path: string; outcome: string; error_code: string | null; error_message: string | null }>('SELECT path, outcome, error_code, error_message FROM repository_results WHERE run_id = $1 ORDER BY row_number', [runId])
    .finally(() => db.close());
  const published = (name: string, file: string) => fs.readFile(path.join(publishDir, 'local.test', 'acme', name, fixture.repos[`acme/${name}`]!.headSha, file), 'utf8');
  return { result, rows: recorded.rows, published, workdir, dataDir };
}

const warnings = (result: CliResult) => result.logs.filter((line) => line.level === 40).map((line) => line.msg);

describe('mass-ingest process and what a build can reach', () => {
  it('publishes the log the processor wrote when a build relinks build.log to the credentials or to /proc/self/environ', async () => {
    const { result, rows, published } = await processRows('relink', ['acme/relink', 'acme/relink-failed']);

    expect(result.code).toBe(0);
    expect(rows.map((row) => [row.path, row.outcome, row.error_code])).toEqual([
      ['acme/relink', 'published', null],
      ['acme/relink-failed', 'build_failed', 'build_exit_2'],
    ]);
    const logs = [await published('relink', 'build.log'), await published('relink-failed', 'build.log')];
    for (const log of logs) {
      expect(log).not.toContain(SECRET);
      expect(log).toContain('[mass-ingest] the build replaced build.log; this is the log the processor wrote');
    }
    expect(logs[1]).toContain('about to fail');
    expect(rows[1]!.error_message).toContain('about to fail');
    expect(JSON.stringify(rows)).not.toContain(SECRET);
    expect(warnings(result).filter((msg) => msg === 'The build replaced its build.log: the log the processor wrote is published instead')).toHaveLength(2);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  }, 120_000);

  it.skipIf(!IS_ROOT)('runs builds as BUILD_USER: they cannot read the processor environment, the credential file or touch build.log', async () => {
    const { result, rows, published, workdir, dataDir } = await processRows('isolated', ['acme/probe'], { BUILD_USER: 'nobody' });

    expect(result.code).toBe(0);
    expect(rows.map((row) => [row.path, row.outcome])).toEqual([['acme/probe', 'published']]);
    const seen = async (file: string) => (await published('probe', file)).trim();
    expect(await seen('uid.txt')).toBe(String(NOBODY));
    expect(await seen('home.txt')).toBe(path.join(workdir, `.build-home-${NOBODY}`));
    expect(await seen('home-writable.txt')).toBe('yes');
    expect(Number(await seen('credential-dirs.txt'))).toBeGreaterThanOrEqual(1);
    expect(await seen('environ-leaks.txt')).toBe('0');
    expect(await seen('credential-leaks.txt')).toBe('0');
    expect(await seen('log-replaced.txt')).toBe('no');
    expect(await published('probe', 'build.log')).toContain('sh probe.sh');
    expect(result.logs.find((line) => line.msg === 'Builds run as an unprivileged user')).toMatchObject({ buildUser: 'nobody', uid: NOBODY, gid: NOBODY });
    await expect(fs.readdir(workdir)).resolves.toEqual([`.build-home-${NOBODY}`]);
    // The embedded database's files are 0666 in the template: its directory keeps every other user out.
    expect((await fs.stat(dataDir)).mode & 0o777).toBe(0o700);
  }, 120_000);

  it.skipIf(!IS_ROOT)('shows, without BUILD_USER, what the same build reaches as root, and warns about it', async () => {
    const { result, rows, published } = await processRows('as-root', ['acme/probe']);

    expect(rows.map((row) => [row.path, row.outcome])).toEqual([['acme/probe', 'published']]);
    const seen = async (file: string) => (await published('probe', file)).trim();
    expect(await seen('uid.txt')).toBe('0');
    expect(Number(await seen('environ-leaks.txt'))).toBeGreaterThanOrEqual(1);
    expect(Number(await seen('credential-leaks.txt'))).toBeGreaterThanOrEqual(1);
    expect(await seen('log-replaced.txt')).toBe('yes');
    expect(await published('probe', 'build.log')).toContain('[mass-ingest] the build replaced build.log; this is the log the processor wrote');
    expect(warnings(result)).toContain('Builds run as root, with access to the credentials: set BUILD_USER to run them as an unprivileged user');
  }, 120_000);

  it.skipIf(!IS_ROOT)('exits 2 before any repository starts when BUILD_USER is unknown or cannot reach the work directory', async () => {
    const hidden = path.join(tmp.path, 'hidden');
    await fs.mkdir(hidden, { mode: 0o700 });

    const unknown = await processRows('unknown-user', ['acme/probe'], { BUILD_USER: 'no-such-user-here' });
    const unreachable = await processRows('unreachable', ['acme/probe'], { BUILD_USER: 'nobody', MASS_INGEST_WORKDIR: path.join(hidden, 'work') });

    expect(unknown.result.code).toBe(2);
    expect(unknown.result.stderr).toContain('BUILD_USER=no-such-user-here: no such user on this machine');
    expect(unreachable.result.code).toBe(2);
    expect(unreachable.result.stderr).toContain(`BUILD_USER nobody (uid ${NOBODY}) cannot reach the work directory ${path.join(hidden, 'work')}`);
    expect([...unknown.rows, ...unreachable.rows]).toEqual([]);
  }, 120_000);

  it('refuses a BUILD_USER that is not a user name or uid', async () => {
    const { result } = await processRows('bad-user', ['acme/probe'], { BUILD_USER: 'nobody; rm -rf /' });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('BUILD_USER must be a user name, a uid or uid:gid, or several for concurrent builds (a,b or a uid range such as 10001-10004, at most 256), got "nobody; rm -rf /"');
  }, 60_000);
});

/**
 * Two builds at once, each trying to change the other's clone (through the run's directory:
 * `../../row-N/src`). Sharing one user they can; with a user each they cannot.
 */
const TAMPER = `set -u
mkdir -p dist
sleep 2
n=0
for other in ../../row-*/src; do
  [ "$other" -ef . ] && continue
  if echo tampered > "$other/tampered.txt" 2>/dev/null; then n=$((n+1)); fi
done
echo "$n" > dist/tampered-others.txt
id -u > dist/uid.txt
`;

describe.skipIf(!IS_ROOT)('concurrent builds and their users', () => {
  let pairFixture: Fixture;

  beforeAll(async () => {
    pairFixture = await makeFixture(path.join(tmp.path, 'pair'), [
      ['acme/left', { 'tamper.sh': TAMPER, Makefile: 'all:\n\tsh tamper.sh\n' }],
      ['acme/right', { 'tamper.sh': TAMPER, Makefile: 'all:\n\tsh tamper.sh\n' }],
    ]);
    await fs.chmod(path.join(tmp.path, 'pair'), 0o711);
  });

  async function runPair(runId: string, buildUser: string) {
    const dataDir = path.join(tmp.path, `db-${runId}`);
    const publishDir = path.join(tmp.path, `artifacts-${runId}`);
    const env = baseEnv({ MASS_INGEST_DATA_DIR: dataDir, PUBLISH_URL: publishDir, MASS_INGEST_WORKDIR: path.join(tmp.path, `work-${runId}`), BUILD_USER: buildUser });
    const result = await runCli(['process', pairFixture.inventory, '--run-id', runId, '--concurrency', '2'], { env });
    const published = async (name: string, file: string) => (await fs.readFile(path.join(publishDir, 'local.test', 'acme', name, pairFixture.repos[`acme/${name}`]!.headSha, file), 'utf8')).trim();
    return { result, published };
  }

  it('run each build as a user of its own when BUILD_USER names several (a uid range): neither can change the other\'s clone', async () => {
    const { result, published } = await runPair('pool', '48301-48302');

    expect(result.code).toBe(0);
    expect([await published('left', 'tampered-others.txt'), await published('right', 'tampered-others.txt')]).toEqual(['0', '0']);
    expect([await published('left', 'uid.txt'), await published('right', 'uid.txt')].sort()).toEqual(['48301', '48302']);
    expect(result.logs.filter((line) => line.msg === 'Builds run as an unprivileged user').map((line) => line.uid)).toEqual([48301, 48302]);
    expect(result.logs.map((line) => line.msg)).not.toContain('Fewer build users than concurrent builds: builds share it and can change each other\'s clones; give BUILD_USER one user per build (e.g. 10001-10004)');
  }, 120_000);

  it('show what sharing one user allows, and warn about it', async () => {
    const { result, published } = await runPair('shared', '48303');

    expect(result.code).toBe(0);
    expect(Number(await published('left', 'tampered-others.txt')) + Number(await published('right', 'tampered-others.txt'))).toBeGreaterThanOrEqual(1);
    expect(result.logs.find((line) => line.msg === "Fewer build users than concurrent builds: builds share it and can change each other's clones; give BUILD_USER one user per build (e.g. 10001-10004)")).toMatchObject({ concurrency: 2, buildUsers: 1 });
  }, 120_000);
});
