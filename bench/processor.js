// `npm run bench -- processor`: the processor's four goals of issue 4, each against a baseline
// measured in the same run. Prints figures and PASS/MISS; never fails on a miss.
//   a. overhead vs a plain bash loop (clone --depth 1 + make + cp) over 20 repositories: ≤ 1.15×
//   b. 16 builds sleeping 1 s, --concurrency 8 vs 1: ≥ 6×
//   c. second run with 1 of 20 repositories changed vs a --force run: ≥ 10× faster (builds of 1 s;
//      builds that cost nothing shown for information)
//   d. 100,000 outcomes through SqlResultStore.recordOutcomes on PostgreSQL 15 and PGlite: ≤ 3 s,
//      ≥ 20× faster than one row per statement
import path from 'node:path';
import { cleanUp, createBenchRoot, fmtMs, fmtX, isolatedEnv, loadNote, median, printTable, run, verdict } from './lib/common.js';
import { bashLoopScript, CHEAP_MAKEFILE, commitChange, createRepoSet, SLEEPY_MAKEFILE } from './lib/repos.js';
import { runProcess, warnUnexpected } from './lib/mass-ingest.js';
import { startPostgres } from './lib/postgres.js';
import { benchRecording } from './lib/recording.js';

const REPEATS = 5;
const root = createBenchRoot('processor');
const env = isolatedEnv(root);
const sharedDb = path.join(root, 'db');
const goals = [];
let runs = 0;
const next = (name) => path.join(root, `${name}-${++runs}`);

async function overhead(server) {
  console.log('\n-- a. overhead: 20 Makefile repositories, --concurrency 1, embedded database --');
  const { inventory, repos } = await createRepoSet(root, 'overhead', 20, CHEAP_MAKEFILE, env);
  const urls = repos.map((repo) => repo.url);
  const databaseUrl = await server.createDatabase('overhead');
  const processor = (force, logLevel, extraEnv = {}) =>
    runProcess({ env: { ...env, ...extraEnv }, inventory, count: 20, dataDir: sharedDb, publishDir: next('pub'), workdir: next('work'), force, logLevel });
  // For comparison only: the same runs with DATABASE_URL (PostgreSQL) instead of the embedded database.
  const withPostgres = (force) => processor(force, 'info', { DATABASE_URL: databaseUrl });
  const bash = async () => {
    const result = await run('bash', ['-c', bashLoopScript(urls, next('work'), next('out'))], { env });
    if (result.code !== 0) console.log(`WARNING bash loop exited with ${result.code}: ${result.stderr.trim()}`);
    return result;
  };
  // Warm-up, not measured: creates the embedded database (template copy), warms caches. A
  // forced run with a debug log gives the per-step split printed below.
  // debug log gives the per-step split printed below.
  warnUnexpected('warm-up', await processor(false, 'info'), { published: 20 });
  const split = await processor(true, 'debug');
  warnUnexpected('debug run', split, { published: 20 });
  await bash();
  warnUnexpected('warm-up with DATABASE_URL', await withPostgres(false), { published: 20 });
  const measured = [];
  const baseline = [];
  const postgres = [];
  for (let i = 0; i < REPEATS; i++) {
    const result = await processor(true);
    // A failed run (e.g. dist/ rebuilt under us) is left out of the medians, and said so.
    if (warnUnexpected(`run ${i + 1}`, result, { published: 20 })) measured.push(result);
    const loop = await bash();
    if (loop.code === 0) baseline.push(loop.ms);
    const viaUrl = await withPostgres(true);
    if (warnUnexpected(`run ${i + 1} with DATABASE_URL`, viaUrl, { published: 20 })) postgres.push(viaUrl);
  }
  const wall = median(measured.map((r) => r.wallMs));
  const perRepo = median(measured.map((r) => r.reposMs)) / 20;
  const startup = median(measured.map((r) => r.startupMs));
  const shutdown = median(measured.map((r) => r.shutdownMs));
  const pgWall = median(postgres.map((r) => r.wallMs));
  const pgPerRepo = median(postgres.map((r) => r.reposMs)) / 20;
  const pgStartup = median(postgres.map((r) => r.startupMs));
  const bashWall = median(baseline);
  const ratio = wall / bashWall;
  const repoRatio = perRepo / (bashWall / 20);
  printTable(
    [`median of ${measured.length}/${baseline.length} (--force, fresh publish dir)`, 'mass-ingest', 'bash loop', 'ratio', 'goal', '', 'info: with DATABASE_URL'],
    [
      ['wall time, 20 repositories', fmtMs(wall), fmtMs(bashWall), fmtX(ratio), '≤ 1.15×', verdict(ratio, 1.15, 'max'), `${fmtMs(pgWall)} (${fmtX(pgWall / bashWall)})`],
      ['per repository, start-up excluded', fmtMs(perRepo), fmtMs(bashWall / 20), fmtX(repoRatio), '≤ 1.15×', verdict(repoRatio, 1.15, 'max'), `${fmtMs(pgPerRepo)} (${fmtX(pgPerRepo / (bashWall / 20))})`],
      ['fixed: spawn → first repository (node, imports, DB open, migrations)', fmtMs(startup), '-', '', '', '', fmtMs(pgStartup)],
      ['fixed: last repository → exit (final flush, DB close)', fmtMs(shutdown), '-', '', '', '', ''],
    ],
  );
  console.log('info: the same runs with DATABASE_URL (PostgreSQL 15 on 127.0.0.1) instead of the embedded database; ratio against the bash loop.');
  const stepText = Object.entries(split.steps).map(([step, ms]) => `${step} ${fmtMs(ms / 20)}`).join(', ');
  const other = split.reposMs / 20 - Object.values(split.steps).reduce((a, b) => a + b, 0) / 20;
  const rest = other >= 0 ? `between steps and after the last (workspace removal, recording) ${fmtMs(other)}` : `the steps of consecutive repositories overlap by ${fmtMs(-other)} (the next clone runs during a build)`;
  console.log(`mass-ingest per repository by step (a --force run with a debug log): ${stepText}; ${rest}`);
  goals.push(['a. overhead vs bash loop (wall)', fmtX(ratio), '≤ 1.15×', verdict(ratio, 1.15, 'max')]);
  goals.push(['a. overhead per repository (start-up excluded)', fmtX(repoRatio), '≤ 1.15×', verdict(repoRatio, 1.15, 'max')]);
}

async function concurrency(server) {
  console.log('\n-- b. concurrency: 16 repositories whose build sleeps 1 s --');
  const { inventory } = await createRepoSet(root, 'sleepy', 16, SLEEPY_MAKEFILE, env);
  const databaseUrl = await server.createDatabase('concurrency');
  const once = async (k, extraEnv = {}) => {
    const result = await runProcess({ env: { ...env, ...extraEnv }, inventory, count: 16, dataDir: sharedDb, publishDir: next('pub'), workdir: next('work'), concurrency: k, force: true });
    warnUnexpected(`--concurrency ${k}`, result, { published: 16 });
    return result;
  };
  // Warm-up, not measured (the embedded database exists after it, whatever ran before).
  await once(8);
  const eight = await once(8);
  const one = await once(1);
  // For comparison only: the same with DATABASE_URL (PostgreSQL) instead of the embedded database.
  const pgEight = await once(8, { DATABASE_URL: databaseUrl });
  const pgOne = await once(1, { DATABASE_URL: databaseUrl });
  const speedup = one.wallMs / eight.wallMs;
  const repoSpeedup = one.reposMs / eight.reposMs;
  printTable(
    ['', '--concurrency 1', '--concurrency 8', 'speedup', 'goal', '', 'info: with DATABASE_URL'],
    [
      ['wall time', fmtMs(one.wallMs), fmtMs(eight.wallMs), fmtX(speedup), '≥ 6×', verdict(speedup, 6, 'min'), `${fmtMs(pgOne.wallMs)} / ${fmtMs(pgEight.wallMs)} = ${fmtX(pgOne.wallMs / pgEight.wallMs)}`],
      ['repositories only (start-up excluded)', fmtMs(one.reposMs), fmtMs(eight.reposMs), fmtX(repoSpeedup), '(8× ideal)', '', fmtX(pgOne.reposMs / pgEight.reposMs)],
    ],
  );
  goals.push(['b. --concurrency 8 vs 1 (wall)', fmtX(speedup), '≥ 6×', verdict(speedup, 6, 'min')]);
}

/**
 * One incremental measurement over 20 repositories of `makefile`: first run, 1 changed, second
 * run, then a --force run. Returns the three runs.
 */
async function incrementalOnce(set, makefile, extraEnv = {}) {
  const { inventory, repos } = await createRepoSet(root, set, 20, makefile, env);
  const dataDir = path.join(root, `db-${set}`);
  const publishDir = next('pub');
  const runOnce = (force) => runProcess({ env: { ...env, ...extraEnv }, inventory, count: 20, dataDir, publishDir, workdir: next('work'), force });
  const first = await runOnce(false);
  warnUnexpected(`${set}: first run`, first, { published: 20 });
  await commitChange(repos[6], env);
  const second = await runOnce(false);
  warnUnexpected(`${set}: second run`, second, { unchanged: 19, published: 1 });
  const forced = await runOnce(true);
  warnUnexpected(`${set}: --force run`, forced, { published: 20 });
  return { first, second, forced };
}

async function incremental(server) {
  // What the goal is about: a build that costs something (1 s, as in b) is skipped. With builds
  // that cost nothing (the info row) the ratio is bounded by the fixed start-up of both runs.
  console.log('\n-- c. incremental: 20 repositories whose build takes 1 s, 1 changed after the first run --');
  const { first, second, forced } = await incrementalOnce('incremental', SLEEPY_MAKEFILE);
  console.log('\n   (info) the same with builds that cost nothing (make + cp, as in a):');
  const cheap = await incrementalOnce('incremental-cheap', CHEAP_MAKEFILE);
  console.log('\n   (info) the same with 1 s builds and DATABASE_URL (PostgreSQL) instead of the embedded database:');
  const pg = await incrementalOnce('incremental-pg', SLEEPY_MAKEFILE, { DATABASE_URL: await server.createDatabase('incremental') });
  const ratio = forced.wallMs / second.wallMs;
  const repoRatio = forced.reposMs / second.reposMs;
  printTable(
    ['same DB and publish dir', 'wall', 'repositories only', 'outcomes', 'info: builds that cost nothing (wall)'],
    [
      ['first run (fresh database)', fmtMs(first.wallMs), fmtMs(first.reposMs), '20 published', fmtMs(cheap.first.wallMs)],
      ['second run, 1 changed', fmtMs(second.wallMs), fmtMs(second.reposMs), '19 unchanged, 1 published', fmtMs(cheap.second.wallMs)],
      ['--force run', fmtMs(forced.wallMs), fmtMs(forced.reposMs), '20 rebuilt', fmtMs(cheap.forced.wallMs)],
    ],
  );
  printTable(
    ['--force / second run', 'ratio', 'goal', '', 'info: builds that cost nothing', 'info: 1 s builds, DATABASE_URL'],
    [
      ['wall time', fmtX(ratio), '≥ 10×', verdict(ratio, 10, 'min'), fmtX(cheap.forced.wallMs / cheap.second.wallMs), `${fmtMs(pg.forced.wallMs)} / ${fmtMs(pg.second.wallMs)} = ${fmtX(pg.forced.wallMs / pg.second.wallMs)}`],
      ['repositories only (start-up excluded)', fmtX(repoRatio), '≥ 10×', verdict(repoRatio, 10, 'min'), fmtX(cheap.forced.reposMs / cheap.second.reposMs), fmtX(pg.forced.reposMs / pg.second.reposMs)],
    ],
  );
  goals.push(['c. second run vs --force, 1 s builds (wall)', fmtX(ratio), '≥ 10×', verdict(ratio, 10, 'min')]);
  goals.push(['c. second run vs --force, 1 s builds (start-up excluded)', fmtX(repoRatio), '≥ 10×', verdict(repoRatio, 10, 'min')]);
}

// BENCH_ONLY=a,c runs only those parts (all four by default).
const only = new Set((process.env.BENCH_ONLY ?? 'a,b,c,d').split(',').map((part) => part.trim()));

try {
  const started = performance.now();
  console.log(loadNote());
  // One PostgreSQL 15 for the whole bench: the DATABASE_URL rows of a, b and c, and d.
  const server = await startPostgres(path.join(root, 'pg'));
  if (only.has('a')) await overhead(server);
  if (only.has('b')) await concurrency(server);
  if (only.has('c')) await incremental(server);
  if (only.has('d')) goals.push(...(await benchRecording(root, server)));
  console.log('\n-- summary --');
  printTable(['goal (issue 4)', 'measured', 'goal', ''], goals);
  console.log(`bench took ${fmtMs(performance.now() - started)}; ${loadNote()}`);
} finally {
  await cleanUp();
}
