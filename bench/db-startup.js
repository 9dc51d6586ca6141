// `npm run bench -- db-startup`: what the embedded database costs a local run. Each measurement is
// a fresh child process (bench/lib/db-open-child.js) that opens the database — as the product does,
// through dist/results/database.js openDatabase, which also migrates — and closes it, reporting
// the open time and its peak RSS. Baseline, same run: PGlite with its defaults and no template
// (initdb on the fresh directory). Goal (issue 4): under 300 MiB peak and 2 s of start-up.
import fs from 'node:fs';
import path from 'node:path';
import { cleanUp, createBenchRoot, DIST, fmtMiB, fmtMs, fmtX, loadNote, median, printTable, run, verdict } from './lib/common.js';

const CHILD = path.join(path.dirname(new URL(import.meta.url).pathname), 'lib', 'db-open-child.js');
const REPEATS = 3;
const GOAL_MS = 2000;
const GOAL_KIB = 300 * 1024;
const root = createBenchRoot('db-startup');

async function openOnce(mode, dataDir) {
  const result = await run(process.execPath, [CHILD, mode, dataDir], { timeoutMs: 120_000 });
  const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
  if (result.code !== 0 || !line) throw new Error(`${mode} on ${dataDir} exited with ${result.code ?? result.signal}\n${result.stderr}`);
  const opened = result.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.msg === 'Embedded database opened');
  return { ...JSON.parse(line), wallMs: result.ms, createMs: opened?.ms ?? NaN };
}

/** `repeats` measurements; `fresh` gives each its own new directory, otherwise one directory is reopened. */
async function measure(mode, { fresh, repeats, label }) {
  const samples = [];
  const reused = path.join(root, `${label}-reused`);
  if (!fresh) await openOnce(mode, reused); // create it first; only the reopens are measured
  for (let i = 0; i < repeats; i++) samples.push(await openOnce(mode, fresh ? path.join(root, `${label}-${i}`) : reused));
  return {
    label,
    n: repeats,
    openMs: median(samples.map((s) => s.openMs)),
    wallMs: median(samples.map((s) => s.wallMs)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
    createMs: median(samples.map((s) => s.createMs)),
    maxRssKiB: Math.max(...samples.map((s) => s.maxRssKiB)),
    migrations: samples[0].migrations,
  };
}

try {
  console.log(loadNote());
  const template = path.join(DIST, 'pglite-template');
  if (!fs.existsSync(path.join(template, 'PG_VERSION'))) console.log('WARNING dist/pglite-template is missing: run `npm run build`; the product rows then measure initdb');
  const baseline = await measure('plain', { fresh: true, repeats: 1, label: 'PGlite defaults, fresh dir (initdb, no template) [baseline]' });
  const rows = [
    baseline,
    await measure('plain', { fresh: false, repeats: 1, label: 'PGlite defaults, reopen' }),
    await measure('initdb-product', { fresh: true, repeats: 1, label: 'product settings, fresh dir, initdb (no template)' }),
    await measure('product', { fresh: true, repeats: REPEATS, label: 'product: fresh dir (template copy)' }),
    await measure('product', { fresh: false, repeats: REPEATS, label: 'product: reopen' }),
    await measure('hosted', { fresh: true, repeats: REPEATS, label: 'product, host process: fresh dir' }),
    await measure('hosted', { fresh: false, repeats: REPEATS, label: 'product, host process: reopen' }),
  ];
  printTable(
    ['open + migrate + close in a child process', 'n', 'open', 'of which PGlite.create', 'child wall', 'child CPU', 'peak RSS', 'time vs baseline', 'RSS vs baseline'],
    rows.map((r) => [r.label, r.n, fmtMs(r.openMs), fmtMs(r.createMs), fmtMs(r.wallMs), fmtMs(r.cpuMs), fmtMiB(r.maxRssKiB), fmtX(baseline.openMs / r.openMs), fmtX(baseline.maxRssKiB / r.maxRssKiB)]),
  );
  console.log('open: openDatabase (or PGlite.create + migrations) in the child, the rest of it is the template copy, the lock and the migrations; child wall adds node start-up, imports and close; child CPU: user+system of the whole child; peak RSS: process.resourceUsage().maxRSS, plus the host process\'s VmHWM in the host rows (median of n for times, max for RSS). `process` and `chunk --local` use the host process; report, discover and db migrate open it inline.');
  console.log(loadNote());
  const goals = rows.filter((r) => r.label.startsWith('product:') || r.label.startsWith('product, host')).flatMap((r) => [
    [`${r.label}: start-up`, fmtMs(r.openMs), '< 2 s', verdict(r.openMs, GOAL_MS, 'max')],
    [`${r.label}: peak RSS`, fmtMiB(r.maxRssKiB), '< 300 MiB', verdict(r.maxRssKiB, GOAL_KIB, 'max')],
  ]);
  console.log('');
  printTable(['goal (issue 4)', 'measured', 'goal', ''], goals);
  if (rows.some((r) => r.migrations === undefined)) console.log('WARNING a child did not report its migrations');
} finally {
  await cleanUp();
}
