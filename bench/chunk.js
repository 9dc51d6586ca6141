// `npm run bench -- chunk`: the chunk job's goals of issue 6, each figure from this run.
//   a. 100,000 rows, partition size 10 (10,000 partitions), array mode: plan + record + submit
//      ≤ 5 s with exactly 1 SubmitJob, with PostgreSQL (as on Batch) and with the embedded database
//   b. jobs mode, 2,000 partitions against the fake Batch API throttled at 50 SubmitJob/s:
//      ≥ 45 submits/s sustained, and the ratio against a loop of `aws batch submit-job` processes
//   c. 1,000,000 rows: peak RSS of the chunk process ≤ 256 MiB
//   c. also: the same inventory from s3:// (the chunk job then indexes where each partition begins)
//   d. array children of an s3:// inventory (100,000 rows, 10,000 partitions): bytes each child
//      reads from S3 for DESIGN §9's check: the whole object hashed (a run without an ETag),
//      If-Match from the first byte to its own last row (a run without the partition index), and
//      If-Match from where the chunk job indexed its partition (now)
// `BENCH_ONLY=d` (or a,b,c, comma-separated) runs only those parts.
// Prints figures and PASS/MISS; never fails on a miss.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { CLI, ROOT, cleanUp, createBenchRoot, fmtMs, fmtX, fmtMiB, isolatedEnv, loadNote, median, printTable, run, verdict } from './lib/common.js';
import { startPostgres } from './lib/postgres.js';

const REPEATS = 3;
const root = createBenchRoot('chunk');
const goals = [];

/** A test fake, transpiled once (test/fakes/batch-api.ts and s3-if-match.ts import only node: modules). */
async function loadFake(name = 'batch-api') {
  const source = fs.readFileSync(path.join(ROOT, 'test', 'fakes', `${name}.ts`), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  const file = path.join(root, `${name}.mjs`);
  fs.writeFileSync(file, outputText);
  return import(file);
}

const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((part) => part.trim())) : undefined;
const runs = (part) => only === undefined || only.has(part);

function writeInventory(name, rows) {
  const file = path.join(root, name);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, 'cloneUrl,branch,origin,path,stars\n');
  const batch = 10_000;
  for (let start = 1; start <= rows; start += batch) {
    const lines = [];
    for (let row = start; row < Math.min(start + batch, rows + 1); row++) lines.push(`https://github.com/owner${row % 997}/repo-${row}.git,main,github.com,owner${row % 997}/repo-${row},${row % 5000}`);
    fs.writeSync(fd, `${lines.join('\n')}\n`);
  }
  fs.closeSync(fd);
  return file;
}

const baseEnvFor = (fake, extra) =>
  isolatedEnv(root, {
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_REGION: 'eu-west-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_BATCH: fake.url,
    JOB_QUEUE: 'test-queue',
    JOB_DEFINITION: 'processor',
    LOG_FORMAT: 'json',
    ...extra,
  });

/**
 * Runs `mass-ingest chunk …` inside a small wrapper that reports, on exit, the process's own CPU
 * time (user + system) and peak RSS: on a shared, loaded machine CPU time is the fairer figure.
 */
function wrapper() {
  const file = path.join(root, 'stats-wrapper.mjs');
  if (!fs.existsSync(file)) {
    fs.writeFileSync(
      file,
      `process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write('CHUNK_STATS ' + JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, rssKiB: u.maxRSS }) + '\\n'); });\n` +
        `process.argv.splice(1, 1);\nawait import(${JSON.stringify(CLI)});\n`,
    );
  }
  return file;
}

async function chunk(env, args) {
  const result = await run(process.execPath, [wrapper(), CLI, 'chunk', ...args], { env, cwd: root, timeoutMs: 600_000 });
  if (result.code !== 0) console.log(`WARNING chunk exited with ${result.code}: ${result.stderr.trim().slice(0, 400)}`);
  const stats = JSON.parse(/CHUNK_STATS (.*)/.exec(result.stderr)?.[1] ?? '{}');
  return { ...result, cpuMs: stats.cpuMs ?? NaN, rssKiB: stats.rssKiB ?? NaN };
}

async function arrayMode(fake, pgUrl) {
  console.log('\n-- a. 100,000 rows, partition size 10 (10,000 partitions), array mode --');
  const inventory = writeInventory('100k.csv', 100_000);
  const rows = [];
  const databases = [
    ['PostgreSQL 15', { DATABASE_URL: pgUrl }],
    ['embedded (PGlite)', { MASS_INGEST_DATA_DIR: path.join(root, 'pglite') }],
  ];
  for (const [name, extra] of databases) {
    const env = baseEnvFor(fake, extra);
    const times = [];
    const cpu = [];
    const calls = [];
    for (let i = 0; i < REPEATS + (extra.DATABASE_URL ? 0 : 1); i++) {
      const before = fake.submitCalls;
      const result = await chunk(env, [inventory, '--partition-size', '10', '--run-id', `array-${extra.DATABASE_URL ? 'pg' : 'lite'}-${i}`]);
      // The first embedded run creates the database from the build's template: reported apart.
      if (!extra.DATABASE_URL && i === 0) {
        console.log(`embedded database, first run (creates .mass-ingest/db from the template): ${fmtMs(result.ms)}`);
        continue;
      }
      times.push(result.ms);
      cpu.push(result.cpuMs);
      calls.push(fake.submitCalls - before);
    }
    const wall = median(times);
    const oneCall = calls.every((n) => n === 1);
    rows.push([name, fmtMs(wall), fmtMs(median(cpu)), calls.join('/'), verdict(wall, 5000, 'max'), oneCall ? 'PASS' : 'MISS']);
    goals.push([`a. array mode, ${name}: process start → exit (wall)`, fmtMs(wall), '≤ 5 s, 1 SubmitJob', verdict(wall, 5000, 'max') === 'PASS' && oneCall ? 'PASS' : 'MISS']);
    goals.push([`a. array mode, ${name}: CPU time of the chunk process`, fmtMs(median(cpu)), '(≤ 5 s wall on an idle machine)', '-']);
  }
  printTable(['database', `median wall of ${REPEATS}`, 'median CPU (user+sys)', 'SubmitJob calls', '≤ 5 s', 'exactly 1'], rows);
}

async function jobsMode(fake, pgUrl) {
  console.log('\n-- b. jobs mode: 2,000 partitions, fake Batch API throttled at 50 SubmitJob/s --');
  const inventory = writeInventory('2k.csv', 2000);
  const env = baseEnvFor(fake, { DATABASE_URL: pgUrl });
  fake.setSubmitRate(50);
  const firstJob = fake.jobs.length;
  const throttledBefore = fake.throttled;
  const result = await chunk(env, [inventory, '--mode', 'jobs', '--partition-size', '1', '--run-id', 'jobs-bench']);
  const jobs = fake.jobs.slice(firstJob);
  const spanMs = jobs.at(-1).createdAt - jobs[0].createdAt;
  const sustained = ((jobs.length - 1) / spanMs) * 1000;
  const overall = (jobs.length / result.ms) * 1000;
  printTable(
    ['jobs created', 'first → last SubmitJob', 'sustained', 'whole command', '429s'],
    [[jobs.length, fmtMs(spanMs), `${sustained.toFixed(1)}/s`, `${fmtMs(result.ms)} (${overall.toFixed(1)}/s)`, fake.throttled - throttledBefore]],
  );
  goals.push(['b. jobs mode, 2,000 partitions at the 50/s quota: sustained submits/s', `${sustained.toFixed(1)}/s`, '≥ 45/s', verdict(sustained, 45, 'min')]);
  fake.setSubmitRate(undefined);
  await awsCliBaseline(fake, env, sustained);
}

async function awsCliBaseline(fake, env, oursPerSecond) {
  const version = await run('aws', ['--version'], { env }).catch(() => undefined);
  if (!version || version.code !== 0) {
    console.log('AWS CLI not installed: the `aws batch submit-job` loop baseline is skipped (Debian package awscli provides it)');
    return;
  }
  const calls = 10;
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    const result = await run('aws', ['batch', 'submit-job', '--endpoint-url', fake.url, '--job-name', `cli-${i}`, '--job-queue', 'test-queue', '--job-definition', 'processor', '--container-overrides', `command=process,repos.csv,--start,${i + 1},--end,${i + 1}`], {
      env: { ...env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_DEFAULT_REGION: 'eu-west-1' },
    });
    if (result.code !== 0) console.log(`WARNING aws batch submit-job exited ${result.code}: ${result.stderr.trim()}`);
  }
  const perCall = (performance.now() - started) / calls;
  const loopPerSecond = 1000 / perCall;
  console.log(`${(version.stdout || version.stderr).trim()}: ${fmtMs(perCall)} per \`aws batch submit-job\` process (${calls} in a loop) = ${loopPerSecond.toFixed(2)}/s; 2,000 partitions would take ${fmtMs(2000 * perCall)}`);
  goals.push(['b. jobs mode vs a loop of `aws batch submit-job`', fmtX(oursPerSecond / loopPerSecond), 'ratio (no goal)', '-']);
}

async function peakRss(fake, pgUrl) {
  console.log('\n-- c. 1,000,000 rows (partition size 10: 100,000 partitions, 10 arrays), peak RSS of the chunk process --');
  const inventory = writeInventory('1m.csv', 1_000_000);
  console.log(`inventory: ${(fs.statSync(inventory).size / 1024 / 1024).toFixed(0)} MiB`);
  const s3 = await startBenchS3();
  const uri = await s3.upload('1m.csv', fs.readFileSync(inventory));
  const rows = [];
  const cases = [
    ['PostgreSQL 15', inventory, { DATABASE_URL: pgUrl }],
    ['embedded (PGlite)', inventory, { MASS_INGEST_DATA_DIR: path.join(root, 'pglite') }],
    ['PostgreSQL 15, s3:// (partitions indexed)', uri, { DATABASE_URL: pgUrl, ...s3.env }],
    // Not a working setup (Batch children cannot reach an embedded database), shown for the index's cost.
    ['embedded (PGlite), s3:// (partitions indexed; info)', uri, { MASS_INGEST_DATA_DIR: path.join(root, 'pglite'), ...s3.env }],
  ];
  for (const [name, source, extra] of cases) {
    const result = await chunk(baseEnvFor(fake, extra), [source, '--partition-size', '10', '--run-id', `rss-${rows.length}`]);
    const judged = !name.endsWith('info)');
    rows.push([name, fmtMiB(result.rssKiB), fmtMs(result.ms), fmtMs(result.cpuMs), judged ? verdict(result.rssKiB / 1024, 256, 'max') : '-']);
    if (judged) goals.push([`c. 1,000,000 rows, ${name}: peak RSS`, fmtMiB(result.rssKiB), '≤ 256 MiB', verdict(result.rssKiB / 1024, 256, 'max')]);
  }
  printTable(['database', 'peak RSS', 'wall', 'CPU', '≤ 256 MiB'], rows);
  await s3.close();
}

/** s3rver behind test/fakes/s3-if-match.ts (If-Match as S3 answers it; body bytes counted per GetObject). */
async function startBenchS3() {
  const { default: S3rver } = await import('s3rver');
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const { startIfMatchProxy } = await loadFake('s3-if-match');
  const s3dir = fs.mkdtempSync(path.join(root, 's3rver-'));
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3dir, configureBuckets: [{ name: 'bench' }] });
  const { port } = await s3.run();
  const proxy = await startIfMatchProxy(`http://127.0.0.1:${port}`);
  const { withoutSdkNodeVersionWarning } = await import(path.join(ROOT, 'dist', 'batch', 'sdk-warning.js'));
  return {
    proxy,
    env: { AWS_ENDPOINT_URL_S3: proxy.url, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' },
    async upload(key, body) {
      const client = withoutSdkNodeVersionWarning(() => new S3Client({ endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }));
      await client.send(new PutObjectCommand({ Bucket: 'bench', Key: key, Body: body }));
      client.destroy();
      return `s3://bench/${key}`;
    },
    async close() {
      await proxy.close();
      await s3.close();
    },
  };
}

const fmtBytes = (bytes) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`);

/**
 * d. What each array child reads from S3 (s3rver behind test/fakes/s3-if-match.ts, which answers
 * If-Match as S3 does and counts the body bytes it hands each GetObject's connection, socket
 * buffers included). Every row is `invalid` (an ftp:// clone URL), so a child does nothing but
 * read, check and record its 10 rows.
 */
async function childReads(fake, pgUrl) {
  console.log('\n-- d. array children of an s3:// inventory: 100,000 rows, partition size 10 (10,000 partitions) --');
  const pg = (await import('pg')).default;
  const s3 = await startBenchS3();
  const { proxy } = s3;
  const lines = ['cloneUrl,branch,origin,path,stars'];
  for (let row = 1; row <= 100_000; row++) lines.push(`ftp://git.example.test/owner${row % 997}/repo-${row}.git,main,git.example.test,owner${row % 997}/repo-${row},${row % 5000}`);
  const text = `${lines.join('\n')}\n`;
  const uri = await s3.upload('repos.csv', text);
  const env = baseEnvFor(fake, { DATABASE_URL: pgUrl, ...s3.env, PUBLISH_URL: path.join(root, 'published'), MASS_INGEST_WORKDIR: path.join(root, 'work') });
  // Three runs of the same object: as recorded before ETags (the child hashes the whole object), before
  // the partition index (If-Match from the first byte), and now (If-Match from the partition's offset).
  const variants = [
    ['sha256', 'whole object hashed', "UPDATE ingest_runs SET inventory_etag = NULL WHERE id = $1"],
    ['if-match', 'If-Match from byte 0', "UPDATE run_partitions SET start_offset = NULL WHERE run_id = $1"],
    ['indexed', 'If-Match from its offset', undefined],
  ];
  const planned = {};
  const chunkRows = [];
  const db = new pg.Client({ connectionString: pgUrl });
  await db.connect();
  for (const [runId, , before] of variants) {
    const result = await chunk(env, [uri, '--partition-size', '10', '--run-id', runId]);
    planned[runId] = /"sha256":"([0-9a-f]{64})"/.exec(result.stdout)?.[1];
    chunkRows.push(fmtMs(result.ms));
    if (before) await db.query(before, [runId]);
  }
  await db.end();
  console.log(`chunk of the s3:// object, partitions indexed: ${chunkRows.join(', ')} (wall)`);
  const rows = [];
  const totals = Object.fromEntries(variants.map(([runId]) => [runId, []]));
  for (const index of [0, 4999, 9999]) {
    const measured = {};
    for (const [runId] of variants) {
      const first = proxy.requests.length;
      const args = [CLI, 'process', uri, '--partition-size', '10', '--partition-offset', '0', '--run-id', runId, '--inventory-sha256', planned[runId]];
      const result = await run(process.execPath, args, { env: { ...env, AWS_BATCH_JOB_ID: `${runId}:${index}`, AWS_BATCH_JOB_ARRAY_INDEX: String(index), AWS_BATCH_JOB_ATTEMPT: '1' }, cwd: root });
      if (result.code !== 0) console.log(`WARNING process exited with ${result.code}: ${result.stderr.trim().slice(0, 400)}`);
      const gets = proxy.requests.slice(first).filter((request) => request.method === 'GET');
      const sent = gets.reduce((sum, get) => sum + get.bytesSent, 0);
      const checked = result.stdout.split('\n').filter((line) => line.includes('"Inventory checked against the run"')).map((line) => JSON.parse(line))[0];
      measured[runId] = { read: checked?.bytesRead ?? NaN, sent, ms: result.ms, gets: gets.length };
      totals[runId].push(measured[runId]);
    }
    const cell = ({ read, sent, gets }) => `${fmtBytes(read)} / ${fmtBytes(sent)} (${gets} GETs)`;
    rows.push([index, ...variants.flatMap(([runId]) => [cell(measured[runId]), fmtMs(measured[runId].ms)]), fmtX(measured.sha256.read / measured.indexed.read)]);
  }
  printTable(['array index', ...variants.flatMap(([, label]) => [`${label}: read / sent`, 'wall']), 'less read than hashed'], rows);
  const mean = (runId, field) => totals[runId].reduce((sum, one) => sum + one[field], 0) / totals[runId].length;
  console.log(
    `"read": bytes the child's check took from the stream (its log line's bytesRead); "sent": body bytes the proxy wrote to the child's connections, its header check included, socket buffers of a closed connection too (loopback buffers several MiB).\n` +
      `object: ${fmtBytes(text.length)}; children 0, 4999, 9999 read on average ${variants.map(([runId, label]) => `${fmtBytes(mean(runId, 'read'))} (${label})`).join(', ')}; ` +
      `10,000 children ≈ ${variants.map(([runId]) => fmtBytes(mean(runId, 'read') * 10_000)).join(' / ')} read, ${variants.map(([runId]) => fmtBytes(mean(runId, 'sent') * 10_000)).join(' / ')} sent`,
  );
  goals.push(['d. bytes an array child reads for the inventory check (mean of children 0, 4999, 9999)', `${fmtBytes(mean('indexed', 'read'))} (${fmtBytes(mean('if-match', 'read'))} from byte 0, ${fmtBytes(mean('sha256', 'read'))} hashed)`, 'only its rows', '-']);
  await s3.close();
}

try {
  console.log(loadNote());
  const { startFakeBatchApi } = await loadFake();
  const fake = await startFakeBatchApi({ queues: ['test-queue'], definitions: ['processor', 'report'] });
  const pg = await startPostgres(path.join(root, 'pg'));
  // bench/lib/postgres.js returns no `url`: the server's database comes from createDatabase (before,
  // `pg.url` was undefined, and the "PostgreSQL 15" rows ran on the embedded database).
  const pgUrl = await pg.createDatabase('bench');
  console.log(`${pg.version}; fake AWS Batch API at ${fake.url}`);
  if (runs('a')) await arrayMode(fake, pgUrl);
  if (runs('b')) await jobsMode(fake, pgUrl);
  if (runs('c')) await peakRss(fake, pgUrl);
  if (runs('d')) await childReads(fake, pgUrl);
  console.log('\n-- goals --');
  printTable(['goal', 'measured', 'target', 'verdict'], goals);
  await fake.close();
} finally {
  await cleanUp();
}
