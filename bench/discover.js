// `npm run bench -- discover`: issue 8's goal for `mass-ingest discover`, each figure from this run.
//   a. 100,000 repositories from the fake GitHub (a full crawl, PostgreSQL as on Batch):
//      GraphQL requests / minimum ceil(N/100) ≤ 1.1, wall time, CPU time and peak RSS
//   b. --limit 100,000 of a larger population (the most-starred, embedded database)
// The baseline, measured from the same request log: the same buckets fetched the way a typical
// star-bucketing crawler does (each bucket on its own pages, one count query per request).
// Prints figures and PASS/MISS; never fails on a miss.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { CLI, ROOT, cleanUp, createBenchRoot, fmtMiB, fmtMs, loadNote, onCleanUp, printTable, run, verdict } from './lib/common.js';
import { startPostgres } from './lib/postgres.js';

const root = createBenchRoot('discover');
const TOKENS = ['bench-token-one', 'bench-token-two'];
const goals = [];

/**
 * test/fakes/github-*.ts, transpiled to .mjs under node_modules/.cache so that graphql and
 * @graphql-tools resolve from the project (TypeScript only strips types here).
 */
async function loadFakeGithub() {
  const dir = path.join(ROOT, 'node_modules', '.cache', `mass-ingest-bench-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  onCleanUp(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of ['github-graphql', 'github-index', 'github-population', 'github-search', 'github-calls', 'graphql-realm']) {
    const source = fs.readFileSync(path.join(ROOT, 'test', 'fakes', `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    fs.writeFileSync(path.join(dir, `${name}.mjs`), outputText.replace(/from '\.\/([a-z-]+)\.js'/g, "from './$1.mjs'"));
  }
  return {
    ...(await import(path.join(dir, 'github-graphql.mjs'))),
    ...(await import(path.join(dir, 'github-population.mjs'))),
  };
}

/** Runs the CLI inside a wrapper that reports its own CPU time and peak RSS on exit. */
function wrapper() {
  const file = path.join(root, 'stats-wrapper.mjs');
  fs.writeFileSync(
    file,
    `process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write('DISCOVER_STATS ' + JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, rssKiB: u.maxRSS }) + '\\n'); });\n` +
      `process.argv.splice(1, 1);\nawait import(${JSON.stringify(CLI)});\n`,
  );
  return file;
}

function eligibleCount(population) {
  return population.filter((repo) => !repo.isFork && !repo.isArchived && !repo.isEmpty).length;
}

/** What the same crawl costs without packing: every bucket on its own pages, every count its own request. */
function unpackedBaseline(requests) {
  const nodes = new Map();
  let counts = 0;
  for (const request of requests) {
    if (request.outcome !== 'ok') continue;
    for (const call of request.calls) {
      if (call.field === 'rateLimit') continue;
      if (call.first === 0) counts += 1;
      else nodes.set(call.query ?? call.login, (nodes.get(call.query ?? call.login) ?? 0) + call.first);
    }
  }
  let pages = 0;
  for (const fetched of nodes.values()) pages += Math.max(1, Math.ceil(fetched / 100));
  return { pages, counts, buckets: nodes.size };
}

async function scenario(label, { createFake, population, args, extraEnv }) {
  const fake = await createFake(population);
  const env = {
    PATH: process.env.PATH,
    HOME: root,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    GITHUB_API_URL: fake.url,
    GITHUB_TOKENS: TOKENS.join(','),
    ...extraEnv,
  };
  const out = path.join(root, `${label}.csv`);
  const result = await run(process.execPath, [wrapper(), CLI, 'discover', ...args, '--out', out], { env, cwd: root, timeoutMs: 1_800_000 });
  await fake.stop();
  if (result.code !== 0) {
    console.log(`WARNING discover exited with ${result.code}: ${result.stderr.trim().slice(0, 600)}`);
    return;
  }
  const stats = JSON.parse(/DISCOVER_STATS (.*)/.exec(result.stderr)?.[1] ?? '{}');
  const rows = fs.readFileSync(out, 'utf8').trimEnd().split('\n').length - 1;
  const requests = fake.requests.length;
  const minimum = Math.ceil(rows / 100);
  const baseline = unpackedBaseline(fake.requests);
  const baselineRequests = baseline.pages + baseline.counts;
  const outcomes = {};
  for (const request of fake.requests) outcomes[request.outcome] = (outcomes[request.outcome] ?? 0) + 1;
  printTable(
    ['repositories', 'requests', 'minimum', 'ratio', 'buckets', 'count probes', 'unpacked baseline', 'baseline ratio', 'wall', 'CPU', 'peak RSS'],
    [[rows, requests, minimum, (requests / minimum).toFixed(3), baseline.buckets, baseline.counts, baselineRequests, (baselineRequests / minimum).toFixed(3), fmtMs(result.ms), fmtMs(stats.cpuMs), fmtMiB(stats.rssKiB)]],
  );
  console.log(`answers: ${JSON.stringify(outcomes)}; queries the schema rejected: ${fake.invalid.length}`);
  goals.push([`${label}: requests / ceil(N/100)`, `${(requests / minimum).toFixed(3)} (${requests} / ${minimum})`, '≤ 1.1', verdict(requests / minimum, 1.1, 'max')]);
  goals.push([`${label}: same buckets unpacked (typical crawler)`, `${(baselineRequests / minimum).toFixed(3)}`, 'baseline', '-']);
  goals.push([`${label}: wall / CPU / peak RSS`, `${fmtMs(result.ms)} / ${fmtMs(stats.cpuMs)} / ${fmtMiB(stats.rssKiB)}`, '-', '-']);
}

try {
  console.log(loadNote());
  const { startFakeGithub, generatePopulation } = await loadFakeGithub();
  const createFake = (population) => startFakeGithub({ population, tokens: TOKENS });
  const full = generatePopulation({ size: 117_000, seed: 2026 });
  console.log(`\n-- a. full crawl: ${eligibleCount(full)} repositories (of ${full.length}; forks, archived and empty ones left out), PostgreSQL --`);
  const pg = await startPostgres(path.join(root, 'pg'));
  await scenario('a. full crawl', { createFake, population: full, args: ['--query', ''], extraEnv: { DATABASE_URL: pg.url } });
  const larger = generatePopulation({ size: 180_000, seed: 7 });
  console.log(`\n-- b. --limit 100000 of ${eligibleCount(larger)} repositories, embedded database --`);
  await scenario('b. --limit 100000', { createFake, population: larger, args: ['--query', '', '--limit', '100000'], extraEnv: { MASS_INGEST_DATA_DIR: path.join(root, 'db') } });
  console.log('\n-- goals --');
  printTable(['goal', 'measured', 'target', 'verdict'], goals);
} finally {
  await cleanUp();
}
