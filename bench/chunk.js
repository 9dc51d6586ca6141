// `npm run bench -- chunk`: the chunk job's goals of issue 6, each figure from this run.
//   a. 100,000 rows, partition size 10 (10,000 partitions), array mode: plan + record + submit
//      ≤ 5 s with exactly 1 SubmitJob, with PostgreSQL (as on Batch) and with the embedded database
//   b. jobs mode, 2,000 partitions against the fake Batch API throttled at 50 SubmitJob/s:
//      ≥ 45 submits/s sustained, and the ratio against a loop of `aws batch submit-job` processes
//   c. 1,000,000 rows: peak RSS of the chunk process ≤ 256 MiB
// Prints figures and PASS/MISS; never fails on a miss.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { CLI, ROOT, cleanUp, createBenchRoot, fmtMs, fmtX, fmtMiB, isolatedEnv, loadNote, median, printTable, run, verdict } from './lib/common.js';
import { startPostgres } from './lib/postgres.js';

const REPEATS = 3;
const root = createBenchRoot('chunk');
const goals = [];

/** test/fakes/batch-api.ts, transpiled once (it imports only node: modules). */
async function loadFakeBatchApi() {
  const source = fs.readFileSync(path.join(ROOT, 'test', 'fakes', 'batch-api.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  const file = path.join(root, 'batch-api.mjs');
  fs.writeFileSync(file, outputText);
  return import(file);
}

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
  const rows = [];
  for (const [name, extra] of [['PostgreSQL 15', { DATABASE_URL: pgUrl }], ['embedded (PGlite)', { MASS_INGEST_DATA_DIR: path.join(root, 'pglite') }]]) {
    const result = await chunk(baseEnvFor(fake, extra), [inventory, '--partition-size', '10', '--run-id', `rss-${extra.DATABASE_URL ? 'pg' : 'lite'}`]);
    rows.push([name, fmtMiB(result.rssKiB), fmtMs(result.ms), fmtMs(result.cpuMs), verdict(result.rssKiB / 1024, 256, 'max')]);
    goals.push([`c. 1,000,000 rows, ${name}: peak RSS`, fmtMiB(result.rssKiB), '≤ 256 MiB', verdict(result.rssKiB / 1024, 256, 'max')]);
  }
  printTable(['database', 'peak RSS', 'wall', 'CPU', '≤ 256 MiB'], rows);
}

try {
  console.log(loadNote());
  const { startFakeBatchApi } = await loadFakeBatchApi();
  const fake = await startFakeBatchApi({ queues: ['test-queue'], definitions: ['processor', 'report'] });
  const pg = await startPostgres(path.join(root, 'pg'));
  console.log(`${pg.version}; fake AWS Batch API at ${fake.url}`);
  await arrayMode(fake, pg.url);
  await jobsMode(fake, pg.url);
  await peakRss(fake, pg.url);
  console.log('\n-- goals --');
  printTable(['goal', 'measured', 'target', 'verdict'], goals);
  await fake.close();
} finally {
  await cleanUp();
}
