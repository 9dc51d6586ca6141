// `npm run bench -- publish`: issue 5's goals, each against a baseline measured in the same run.
// Prints figures and PASS/MISS; never fails on a miss.
//   a. 200 MiB of artifacts (4 × 50 MiB) PUT to a local nginx WebDAV (basic auth) through our
//      HttpStore vs one `curl -T` of the same files: throughput ≥ 0.9× of curl's
//   b. the real processor (`node dist/cli.js process`) building and publishing those 200 MiB to
//      the same nginx: peak RSS < 200 MiB (with PostgreSQL, as on Batch, and the embedded PGlite)
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { cleanUp, createBenchRoot, DIST, fmtMiB, fmtX, isolatedEnv, loadNote, median, onCleanUp, printTable, ROOT, run, runChecked, verdict, CLI } from './lib/common.js';
import { startPostgres } from './lib/postgres.js';

const FILES = 4;
const MIB = 1024 * 1024;
const FILE_SIZE = 50 * MIB;
const ROUNDS = 5;
const USER = 'bench';
const PASSWORD = randomBytes(12).toString('hex');

const root = createBenchRoot('publish');
const env = isolatedEnv(root);
const goals = [];

/** test/harness/nginx.ts, bundled on the fly: the bench starts the same nginx as the tests. */
async function startNginx(www) {
  const bundle = path.join(root, 'nginx-harness.mjs');
  await build({ entryPoints: [path.join(ROOT, 'test/harness/nginx.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, packages: 'external', logLevel: 'error' });
  const { startNginxWebdav } = await import(pathToFileURL(bundle).href);
  const nginx = await startNginxWebdav({ root: www, user: USER, password: PASSWORD, token: 'unused-token' });
  onCleanUp(() => nginx.stop());
  return nginx;
}

function writeArtifacts(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const chunk = randomBytes(MIB);
  return Array.from({ length: FILES }, (_, i) => {
    const file = path.join(dir, `artifact-${i + 1}.bin`);
    const fd = fs.openSync(file, 'w');
    for (let written = 0; written < FILE_SIZE; written += MIB) {
      chunk[0] = i; // distinct files, same cost
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
    return file;
  });
}

/** One curl, every file with -T (one connection, kept alive); the password on stdin, not argv. */
async function curlUpload(files, url) {
  const result = await runChecked('curl', ['-sS', '--fail', '-K', '-', '-o', '/dev/null', '-T', `{${files.join(',')}}`, `${url}/`], {
    env,
    input: `user = "${USER}:${PASSWORD}"\n`,
  });
  return result.ms;
}

/** Our HttpStore in a child process (its RSS is its own), the same files one after the other. */
async function storeUpload(files, url) {
  const script = path.join(root, 'store-upload.mjs');
  fs.writeFileSync(
    script,
    `import { HttpStore } from ${JSON.stringify(pathToFileURL(path.join(DIST, 'artifacts/http-store.js')).href)};
import { digestFile } from ${JSON.stringify(pathToFileURL(path.join(DIST, 'artifacts/digests.js')).href)};
import path from 'node:path';
const files = JSON.parse(process.env.BENCH_FILES);
const store = new HttpStore({ url: process.env.BENCH_URL, user: process.env.BENCH_USER, password: process.env.BENCH_PASSWORD });
const digests = [];
for (const file of files) digests.push(await digestFile(file));
const started = performance.now();
for (const [i, file] of files.entries()) await store.putFile(path.basename(file), file, digests[i]);
console.log(JSON.stringify({ ms: performance.now() - started, maxRssKiB: process.resourceUsage().maxRSS }));
`,
  );
  const result = await runChecked(process.execPath, [script], {
    env: { ...env, BENCH_FILES: JSON.stringify(files), BENCH_URL: url, BENCH_USER: USER, BENCH_PASSWORD: PASSWORD },
  });
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

async function throughput(nginx, www, files) {
  console.log(`\n-- a. upload ${FILES} × ${FILE_SIZE / MIB} MiB to nginx WebDAV (basic auth): HttpStore vs curl -T --`);
  const totalMiB = (FILES * FILE_SIZE) / MIB;
  const ours = [];
  const curl = [];
  const rss = [];
  // Warm-up (page cache, nginx temp files), not measured.
  await curlUpload(files, `${nginx.baseUrl}/repo/warm`);
  // Alternating which goes first, so neither always meets a busier machine or a colder cache.
  for (let round = 1; round <= ROUNDS; round++) {
    const runCurl = async () => curl.push(await curlUpload(files, `${nginx.baseUrl}/repo/curl-${round}`));
    const runOurs = async () => {
      const store = await storeUpload(files, `${nginx.baseUrl}/repo/ours-${round}`);
      ours.push(store.ms);
      rss.push(store.maxRssKiB);
    };
    if (round % 2) {
      await runCurl();
      await runOurs();
    } else {
      await runOurs();
      await runCurl();
    }
    fs.rmSync(path.join(www, 'repo'), { recursive: true, force: true });
    fs.mkdirSync(path.join(www, 'repo'));
  }
  const oursMiBs = totalMiB / (median(ours) / 1000);
  const curlMiBs = totalMiB / (median(curl) / 1000);
  const ratio = oursMiBs / curlMiBs;
  printTable(
    [`median of ${ROUNDS}`, 'HttpStore', 'curl -T', 'ratio', 'goal', ''],
    [
      ['throughput', `${oursMiBs.toFixed(0)} MiB/s`, `${curlMiBs.toFixed(0)} MiB/s`, fmtX(ratio), '≥ 0.9×', verdict(ratio, 0.9, 'min')],
      ['rounds (ms)', ours.map((ms) => ms.toFixed(0)).join(' / '), curl.map((ms) => ms.toFixed(0)).join(' / '), '', '', ''],
      ['peak RSS of the uploading process', fmtMiB(Math.max(...rss)), '', '', '', ''],
    ],
  );
  goals.push(['a. HttpStore throughput vs curl -T', fmtX(ratio), '≥ 0.9×', verdict(ratio, 0.9, 'min')]);
}

async function processorRss(nginx, files) {
  console.log(`\n-- b. the processor builds and publishes ${FILES} × ${FILE_SIZE / MIB} MiB to nginx: peak RSS --`);
  const repo = path.join(root, 'repo-work');
  const bare = path.join(root, 'repo.git');
  fs.mkdirSync(repo, { recursive: true });
  fs.writeFileSync(path.join(repo, 'Makefile'), `all:\n\tmkdir -p dist\n\tcp ${files.join(' ')} dist/\n`);
  const git = (...args) => runChecked('git', args, { cwd: repo, env });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'Big artifacts');
  await git('init', '-q', '--bare', '-b', 'main', bare);
  await git('push', '-q', bare, 'main');
  const inventory = path.join(root, 'repos.csv');
  fs.writeFileSync(inventory, `cloneUrl,branch,origin,path\n${pathToFileURL(bare).href},main,bench.local,acme/big\n`);
  const postgres = await startPostgres(path.join(root, 'pg'));
  onCleanUp(() => postgres.stop());
  const databaseUrl = await postgres.createDatabase('publish');

  const empty = path.join(root, 'empty.csv');
  fs.writeFileSync(empty, 'cloneUrl,branch,origin,path\n');
  const rows = [];
  for (const [label, database] of [
    ['PostgreSQL (DATABASE_URL, as on Batch)', { DATABASE_URL: databaseUrl }],
    ['embedded PGlite (local default)', { MASS_INGEST_DATA_DIR: path.join(root, 'db') }],
  ]) {
    const runEnv = { ...env, ...database, PUBLISH_URL: `${nginx.baseUrl}/repo/cli-${rows.length}`, PUBLISH_USER: USER, PUBLISH_PASSWORD: PASSWORD, LOG_FORMAT: 'json', MASS_INGEST_WORKDIR: path.join(root, 'work') };
    const measure = (csv) => run('/usr/bin/time', ['-f', 'peak-rss-kib=%M', process.execPath, CLI, 'process', csv, '--force', '--run-id', `bench-${rows.length}-${path.basename(csv, '.csv')}`], { env: runEnv, timeoutMs: 300_000 });
    // The same command over an empty inventory: what node and the database cost before any repository.
    const idle = await measure(empty);
    const result = await measure(inventory);
    const peakKiB = Number(/peak-rss-kib=(\d+)/.exec(result.stderr)?.[1]);
    const idleKiB = Number(/peak-rss-kib=(\d+)/.exec(idle.stderr)?.[1]);
    const outcome = result.stdout.split('\n').filter((line) => line.includes('"Repository finished"')).map((line) => JSON.parse(line).outcome)[0];
    if (outcome !== 'published') console.log(`WARNING ${label}: exit ${result.code}, outcome ${outcome}\n${result.stderr.slice(-2000)}`);
    rows.push([label, fmtMiB(peakKiB), fmtMiB(idleKiB), `${(result.ms / 1000).toFixed(1)} s`, outcome ?? '-', '< 200 MiB', verdict(peakKiB / 1024, 200, 'max')]);
    goals.push([`b. processor peak RSS, ${label}`, fmtMiB(peakKiB), '< 200 MiB', verdict(peakKiB / 1024, 200, 'max')]);
  }
  printTable(['database', 'peak RSS', 'same, empty inventory', 'wall', 'outcome', 'goal', ''], rows);
  console.log('peak RSS: /usr/bin/time %M, the largest process of the tree; with the embedded database that is its host process (the processor itself stays as with PostgreSQL).');
}

try {
  console.log(loadNote());
  const www = path.join(root, 'www');
  const nginx = await startNginx(www);
  const files = writeArtifacts(path.join(root, 'artifacts'));
  await throughput(nginx, www, files);
  await processorRss(nginx, files);
  console.log('\n-- goals --');
  printTable(['goal', 'measured', 'target', ''], goals);
} finally {
  await cleanUp();
}
