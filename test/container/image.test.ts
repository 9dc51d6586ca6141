import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo, createLfsRepo } from '../harness/git-fixtures.js';
import { PYTHON_PACKAGE, PYTHON_WHEEL } from '../harness/python-package.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';
import { buildImage, ensureBaseImage, megabytes, writeCaBundle, type BuiltImage } from './image.js';
import { collectExit, Podman, processesMatching, type PodmanResult } from './podman.js';

const execFileAsync = promisify(execFile);
const IMAGE = 'localhost/mass-ingest:container-test';
/** The image with the two options whose tools work offline here: Python (pip) and git-lfs. */
const IMAGE_WITH_OPTIONS = 'localhost/mass-ingest:container-test-python-lfs';
const OPTION_BUILD_ARGS = { INSTALL_PYTHON: 'true', INSTALL_GIT_LFS: 'true' };
const IMAGE_USER_ID = 1000;
const LABEL = `mass-ingest-test=${process.pid}`;
const SLOW_SLEEP = 'sleep 347';
const PROBE_SECRET = 'TOPSECRET-container-probe';
/** What a build sees: its uid, and how many processes' environments and credential files show the secret. */
const PROBE_MAKEFILE = [
  'all:',
  '\tmkdir -p dist',
  '\tid -u > dist/uid.txt',
  "\tn=0; for f in /proc/[0-9]*/environ; do if tr '\\0' '\\n' < $$f 2>/dev/null | grep -q TOPSECRET; then n=$$((n+1)); fi; done; echo $$n > dist/environ-leaks.txt",
  '\t(cat /tmp/mass-ingest-cred-*/credentials 2>/dev/null || true) | grep -c TOPSECRET > dist/credential-leaks.txt || true',
  '',
].join('\n');

let podman: Podman;
let tmp: TempDir;
let data: string;
let image: BuiltImage;
let caBundle: string | undefined;
let base: string;
let caCertificates: string[] = [];
let containers = 0;
const shas: Record<string, string> = {};
const model = randomBytes(5000);

/**
 * `podman run --rm --network=none --pull=never` with /data mounted, named and labelled so the test can find it.
 * No `-w`: like README's `docker run --rm -v "$PWD:/data" mass-ingest process …`, the image's own
 * working directory (/data) must put the embedded database in the mounted directory.
 */
function runArgs(args: string[], options: string[] = [], runImage = IMAGE): string[] {
  containers += 1;
  return [
    'run', '--rm', '--network=none', '--pull=never',
    '--name', `mass-ingest-test-${process.pid}-${containers}`, '--label', LABEL, '--cidfile', path.join(tmp.path, `cid-${containers}`),
    '-v', `${data}:/data`, '-e', 'PUBLISH_URL=file:///data/out', ...options,
    runImage, ...args,
  ];
}

async function report(runId: string): Promise<{ counts: Record<string, number>; repositories: Array<{ rowNumber: number; path: string; outcome: string; commitSha: string | null }> }> {
  const result = await podman.run(runArgs(['report', '--run', runId, '--format', 'json']));
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

/** The JSON log lines of a run with the given message. */
function logLines(stdout: string, msg: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === msg);
}

beforeAll(async () => {
  podman = Podman.load();
  tmp = await createTempDir('mass-ingest-container-');
  const started = Date.now();
  base = await ensureBaseImage(podman);
  const baseDone = Date.now();
  const bundle = await writeCaBundle(tmp.path);
  caCertificates = bundle?.certificates ?? [];
  caBundle = bundle?.file;
  if (!bundle) console.log('container test: no CA certificates in /usr/local/share/ca-certificates; building without the npm_ca secret');
  image = await buildImage(podman, { base, name: IMAGE, caBundle });
  console.log(
    `container test: base ${base} ${megabytes(image.baseBytes)} (${((baseDone - started) / 1000).toFixed(0)} s), ` +
      `image ${IMAGE} ${megabytes(image.sizeBytes)}, adds ${megabytes(image.addedBytes)} to the base (build ${((Date.now() - baseDone) / 1000).toFixed(0)} s)`,
  );

  data = path.join(tmp.path, 'data');
  const repos = path.join(data, 'repos');
  const make = await createBareRepo(repos, 'acme/widget', { Makefile: 'all:\n\tmkdir -p dist\n\techo "built in a container" > dist/hello.txt\n' });
  const docs = await createBareRepo(repos, 'acme/docs', { 'README.md': '# nothing to build\n' });
  const slow = await createBareRepo(repos, 'acme/slow', { Makefile: `all:\n\ttouch /data/started-slow\n\t${SLOW_SLEEP}\n` });
  Object.assign(shas, { widget: make.headSha, docs: docs.headSha, slow: slow.headSha });
  const row = (name: string) => `file:///data/repos/${name}.git,main,local.test,${name}`;
  await fs.writeFile(path.join(data, 'repos.csv'), ['cloneUrl,branch,origin,path', row('acme/widget'), row('acme/docs'), 'ftp://nowhere.test/x.git,main,local.test,acme/ftp', ''].join('\n'));
  await fs.writeFile(path.join(data, 'slow.csv'), ['cloneUrl,branch,origin,path', row('acme/slow'), row('acme/widget'), ''].join('\n'));
  shas.greeting = (await createBareRepo(repos, 'acme/greeting', PYTHON_PACKAGE)).headSha;
  await fs.writeFile(path.join(data, 'python.csv'), ['cloneUrl,branch,origin,path', row('acme/greeting'), ''].join('\n'));
  const lfs = await createLfsRepo(repos, 'acme/model', { Makefile: 'all:\n\tmkdir -p dist\n\tcp model.bin dist/model.bin\n', 'model.bin': model });
  shas.model = lfs.headSha;
  await fs.writeFile(path.join(data, 'lfs.csv'), ['cloneUrl,branch,origin,path', row('acme/model'), ''].join('\n'));
  // The image runs as `node` (uid 1000): git refuses repositories of another owner, and the CLI writes here.
  await execFileAsync('chown', ['-R', `${IMAGE_USER_ID}:${IMAGE_USER_ID}`, tmp.path]);
  // Cloned by a processor running as root (BUILD_USER): owned by root, as git wants.
  const probe = await createBareRepo(path.join(data, 'root-repos'), 'acme/probe', { Makefile: PROBE_MAKEFILE });
  shas.probe = probe.headSha;
  await fs.writeFile(path.join(data, 'probe.csv'), ['cloneUrl,branch,origin,path', 'file:///data/root-repos/acme/probe.git,main,local.test,acme/probe', ''].join('\n'));
  // Two builds at once (each sleeps, so they overlap), each as a uid of a range with no passwd entry
  // (Terraform: processor_concurrency = 2, build_user = "10001-10002").
  const sleepy = PROBE_MAKEFILE.replace('all:\n', 'all:\n\tsleep 2\n');
  for (const name of ['left', 'right']) shas[name] = (await createBareRepo(path.join(data, 'root-repos'), `acme/${name}`, { Makefile: sleepy })).headSha;
  await fs.writeFile(
    path.join(data, 'pair.csv'),
    ['cloneUrl,branch,origin,path', ...['left', 'right'].map((name) => `file:///data/root-repos/acme/${name}.git,main,local.test,acme/${name}`), ''].join('\n'),
  );
});

afterAll(async () => {
  if (podman) {
    const left = (await podman.run(['ps', '--all', '--quiet', '--filter', `label=${LABEL}`])).stdout.split('\n').filter(Boolean);
    if (left.length > 0) await podman.run(['rm', '--force', '--time', '0', ...left]);
    await podman.run(['image', 'unmount', '--all']);
  }
  await tmp?.remove();
});

describe('the container image', () => {
  it('prints the CLI help through its tini entry point', async () => {
    const result = await podman.run(runArgs(['--help']));

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('mass-ingest process [inventory]');
  });

  it('passes the CLI exit code 2 through tini for an inventory that does not exist and for a missing argument, so Batch does not retry', async () => {
    const missing = await podman.run(runArgs(['process', '/data/missing.csv', '--start', '1', '--end', '5', '--run-id', 'container-missing']));
    const usage = await podman.run(runArgs(['process']));

    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toContain('[inventory_not_found]');
    expect(usage.code, usage.stderr).toBe(2);
    expect(usage.stderr).toContain('[usage]');
  });

  it('runs as node under tini with git, ssh and make, and ships no sources, tests, .git, devDependencies or certificates', async () => {
    const config = JSON.parse(await podman.ok(['image', 'inspect', '--format', '{{json .Config}}', IMAGE])) as { User: string; Entrypoint: string[]; WorkingDir: string };
    const root = (await podman.ok(['image', 'mount', IMAGE])).trim();
    const present = async (file: string) => fs.access(path.join(root, file)).then(() => true, () => false);
    const anywhere = async (text: string) => execFileAsync('grep', ['-rlF', text, root]).then(({ stdout }) => stdout.trim(), () => '');

    try {
      expect([config.User, config.Entrypoint, config.WorkingDir]).toEqual(['node', ['tini', '--', 'node', '/app/dist/cli.js'], '/data']);
      expect(await fs.readFile(path.join(root, 'etc/passwd'), 'utf8')).toMatch(/^node:x:1000:1000:/m);
      for (const file of ['usr/bin/tini', 'usr/bin/git', 'usr/bin/ssh', 'usr/bin/make', 'app/dist/cli.js', 'app/dist/pglite-template/PG_VERSION', 'app/package.json', 'app/repos.csv', 'app/node_modules/@electric-sql/pglite']) {
        expect(await present(file), file).toBe(true);
      }
      expect((await fs.readdir(path.join(root, 'app/migrations'))).some((name) => name.endsWith('.sql'))).toBe(true);
      for (const file of ['app/src', 'app/test', 'app/.git', 'app/tsconfig.json', 'app/node_modules/typescript', 'app/node_modules/vitest', 'app/node_modules/.bin/tsc', 'run/secrets/npm_ca']) {
        expect(await present(file), file).toBe(false);
      }
      const app = path.join(root, 'app');
      expect((await execFileAsync('find', [app, '-path', path.join(app, 'node_modules'), '-prune', '-o', '-name', '*.ts', '-print'])).stdout).toBe('');
      for (const certificate of caCertificates) {
        const bodyLine = certificate.split('\n').find((line) => /^[A-Za-z0-9+/]{64}$/.test(line));
        if (bodyLine) expect(await anywhere(bodyLine)).toBe('');
      }
    } finally {
      await podman.run(['image', 'unmount', IMAGE]);
    }
    console.log(`container test: ${IMAGE} is ${megabytes(image.sizeBytes)}, ${megabytes(image.addedBytes)} over its base`);
    expect(image.addedBytes).toBeLessThanOrEqual(260e6);
  });

  it('processes a partition over file:// repositories with the embedded database, publishes per DESIGN §6, and reports it from a second container', async () => {
    const result = await podman.run(runArgs(['process', '/data/repos.csv', '--start', '1', '--end', '3', '--run-id', 'container-first']));

    expect(result.code, result.stderr).toBe(0);
    await expect(fs.access(path.join(data, '.mass-ingest', 'db', 'PG_VERSION'))).resolves.toBeUndefined();
    const published = path.join(data, 'out', 'local.test', 'acme', 'widget', shas.widget!);
    expect((await fs.readdir(published)).sort()).toEqual(['build.log', 'hello.txt', 'manifest.json']);
    const hello = await fs.readFile(path.join(published, 'hello.txt'));
    const manifest = JSON.parse(await fs.readFile(path.join(published, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      schema: 1,
      repository: { cloneUrl: 'file:///data/repos/acme/widget.git', branch: 'main', origin: 'local.test', path: 'acme/widget' },
      commitSha: shas.widget,
      builder: 'make',
      runId: 'container-first',
      artifacts: [{ name: 'hello.txt', size: hello.length, sha256: createHash('sha256').update(hello).digest('hex') }],
    });
    const json = await report('container-first');
    expect(json.counts).toEqual({ published: 1, unchanged: 0, invalid: 1, clone_failed: 0, no_build_tool: 1, build_failed: 0, timed_out: 0, publish_failed: 0, aborted: 0, crashed: 0 });
    expect(json.repositories.map((r) => [r.rowNumber, r.path, r.outcome, r.commitSha])).toEqual([
      [1, 'acme/widget', 'published', shas.widget],
      [2, 'acme/docs', 'no_build_tool', shas.docs],
      [3, 'acme/ftp', 'invalid', null],
    ]);
  });

  it('runs the processor as root and its builds as BUILD_USER=node, which cannot read the secrets of PID 1, the processor or git', async () => {
    const options = ['--user', 'root', '-e', 'BUILD_USER=node', '-e', `GIT_CREDENTIALS=https://user:${PROBE_SECRET}@git.invalid`, '-e', 'MASS_INGEST_DATA_DIR=/tmp/db', '-e', 'PUBLISH_URL=file:///data/out-root'];

    const result = await podman.run(runArgs(['process', '/data/probe.csv', '--run-id', 'container-build-user'], options));

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('"msg":"Builds run as an unprivileged user"');
    const published = path.join(data, 'out-root', 'local.test', 'acme', 'probe', shas.probe!);
    const seen = async (file: string) => (await fs.readFile(path.join(published, file), 'utf8')).trim();
    expect(await seen('uid.txt')).toBe(String(IMAGE_USER_ID));
    expect(await seen('environ-leaks.txt')).toBe('0');
    expect(await seen('credential-leaks.txt')).toBe('0');
    expect(result.stdout + result.stderr).not.toContain(PROBE_SECRET);
  });

  it('runs two builds at once as two uids of a BUILD_USER range that has no passwd entries', async () => {
    const options = ['--user', 'root', '-e', 'BUILD_USER=10001-10002', '-e', 'MASS_INGEST_DATA_DIR=/tmp/db', '-e', 'PUBLISH_URL=file:///data/out-pair'];

    const result = await podman.run(runArgs(['process', '/data/pair.csv', '--run-id', 'container-build-users', '--concurrency', '2'], options));

    expect(result.code, result.stderr).toBe(0);
    const uid = async (name: string) => (await fs.readFile(path.join(data, 'out-pair', 'local.test', 'acme', name, shas[name]!, 'uid.txt'), 'utf8')).trim();
    expect([await uid('left'), await uid('right')].sort()).toEqual(['10001', '10002']);
    expect(result.stdout).not.toContain('Fewer build users than concurrent builds');
  });

  it('exits 143 within 10 s of podman kill --signal TERM during a build and records the rows aborted', async () => {
    const args = runArgs(['process', '/data/slow.csv', '--run-id', 'container-term']);
    const name = args[args.indexOf('--name') + 1]!;
    const exited = collectExit(podman.spawn(args));
    await waitFor(() => fs.access(path.join(data, 'started-slow')).then(() => true, () => undefined), { what: 'the slow build to start', timeoutMs: 120_000, intervalMs: 200 });

    const kill = await podman.run(['kill', '--signal', 'TERM', name]);
    const result = await Promise.race([exited, sleep(10_000).then((): PodmanResult | undefined => undefined)]);

    expect(kill.code, kill.stderr).toBe(0);
    expect(result, 'the container was still running 10 s after SIGTERM').toBeDefined();
    expect(result!.code, result!.stderr).toBe(143);
    expect(processesMatching(SLOW_SLEEP)).toEqual([]);
    const json = await report('container-term');
    // acme/widget was published by the first run: it is checked (unchanged) while acme/slow builds.
    expect(json.repositories.map((r) => [r.rowNumber, r.path, r.outcome])).toEqual([
      [1, 'acme/slow', 'aborted'],
      [2, 'acme/widget', 'unchanged'],
    ]);
  });

  it('exits 2 before any repository starts with LFS=fetch, as the default image has no git-lfs', async () => {
    const result = await podman.run(runArgs(['process', '/data/lfs.csv', '--run-id', 'container-lfs-missing'], ['-e', 'LFS=fetch', '-e', 'PUBLISH_URL=file:///data/out-lfs-missing']));

    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('[git_lfs_missing]');
    expect(logLines(result.stdout, 'Repository finished')).toEqual([]);
    await expect(fs.access(path.join(data, 'out-lfs-missing'))).rejects.toThrow();
  });

  describe('built with INSTALL_PYTHON=true and INSTALL_GIT_LFS=true', () => {
    let withOptions: BuiltImage;

    beforeAll(async () => {
      const started = Date.now();
      withOptions = await buildImage(podman, { base, name: IMAGE_WITH_OPTIONS, caBundle, buildArgs: OPTION_BUILD_ARGS });
      console.log(
        `container test: image ${IMAGE_WITH_OPTIONS} ${megabytes(withOptions.sizeBytes)}, adds ${megabytes(withOptions.addedBytes)} to the base, ` +
          `${megabytes(withOptions.sizeBytes - image.sizeBytes)} to the default image (build ${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
    });

    it('builds a Python package with pip, offline, and publishes its wheel', async () => {
      const result = await podman.run(runArgs(['process', '/data/python.csv', '--run-id', 'container-python'], ['-e', 'PUBLISH_URL=file:///data/out-python'], IMAGE_WITH_OPTIONS));

      expect(result.code, result.stderr).toBe(0);
      expect(logLines(result.stdout, 'Repository finished').map((line) => [line.outcome, line.commitSha])).toEqual([['published', shas.greeting]]);
      const published = path.join(data, 'out-python', 'local.test', 'acme', 'greeting', shas.greeting!);
      expect((await fs.readdir(published)).sort()).toEqual(['build.log', PYTHON_WHEEL, 'manifest.json']);
      const wheel = await fs.readFile(path.join(published, PYTHON_WHEEL));
      const manifest = JSON.parse(await fs.readFile(path.join(published, 'manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({ builder: 'python', artifacts: [{ name: PYTHON_WHEEL, size: wheel.length, sha256: createHash('sha256').update(wheel).digest('hex') }] });
      // A zip names its files in the clear: the package's module is in the wheel.
      expect(wheel.subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
      expect(wheel.includes('greeting/__init__.py')).toBe(true);
    });

    it('builds with the LFS files themselves, not their pointers, with LFS=fetch', async () => {
      const result = await podman.run(runArgs(['process', '/data/lfs.csv', '--run-id', 'container-lfs'], ['-e', 'LFS=fetch', '-e', 'PUBLISH_URL=file:///data/out-lfs'], IMAGE_WITH_OPTIONS));

      expect(result.code, result.stderr).toBe(0);
      expect(logLines(result.stdout, 'Repository finished').map((line) => [line.outcome, line.commitSha])).toEqual([['published', shas.model]]);
      const published = path.join(data, 'out-lfs', 'local.test', 'acme', 'model', shas.model!);
      expect((await fs.readFile(path.join(published, 'model.bin'))).equals(model)).toBe(true);
    });

    it('adds python3, pip and git-lfs to the default image in at most 90 MB', () => {
      console.log(`container test: ${IMAGE_WITH_OPTIONS} is ${megabytes(withOptions.sizeBytes)}, ${megabytes(withOptions.sizeBytes - image.sizeBytes)} over the default image`);
      expect(withOptions.sizeBytes - image.sizeBytes).toBeLessThanOrEqual(90e6);
    });
  });

  it('leaves no container and no process behind', async () => {
    const ids = await Promise.all(Array.from({ length: containers }, (_, i) => fs.readFile(path.join(tmp.path, `cid-${i + 1}`), 'utf8')));
    const lingering = () => [`mass-ingest-test-${process.pid}-`, SLOW_SLEEP, ...ids.map((id) => id.trim())].flatMap(processesMatching);

    const left = await podman.ok(['ps', '--all', '--format', '{{.Names}} {{.Status}}', '--filter', `label=${LABEL}`]);
    // conmon and `podman container cleanup` may take a moment to exit after `podman run --rm` returns.
    await waitFor(async () => (lingering().length === 0 ? true : undefined), { what: 'no process of the test containers', timeoutMs: 10_000, intervalMs: 250 }).catch(() => undefined);

    expect(left.trim()).toBe('');
    expect(ids.every((id) => /^[0-9a-f]{64}$/.test(id.trim()))).toBe(true);
    expect(lingering()).toEqual([]);
  });
});
