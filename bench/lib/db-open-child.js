// Child process of bench/db-startup.js: opens the embedded database one way, migrates it, closes
// it, and prints one JSON line with the timings and this process's peak RSS (PGlite is WebAssembly
// inside this process, so maxRSS is the database's cost plus node's own ~50 MiB).
//   node db-open-child.js product <dataDir>          openDatabase inline (report, discover, db migrate; template copy when fresh)
//   node db-open-child.js hosted <dataDir>           openDatabase with PGlite in its host process (process, chunk --local)
//   node db-open-child.js initdb-product <dataDir>   product settings, but initdb instead of the template
//   node db-open-child.js plain <dataDir>            PGlite.create(dataDir) with PGlite's defaults
import fs from 'node:fs';
import path from 'node:path';
import { DIST } from './common.js';

const [mode, dataDir] = process.argv.slice(2);
const imported = performance.now();
const { createLogger } = await import(path.join(DIST, 'logging', 'logger.js'));
// debug: openDatabase logs PGlite.create's own time ('Embedded database opened', ms) on stderr.
const log = createLogger({ level: 'debug', format: 'json', scrub: (text) => text, fd: 2 });

/** Same adapter as src/results/database.ts openPglite: multi-statement SQL goes through exec. */
function adapt(db) {
  const query = async (text, params) => {
    if (params === undefined || params.length === 0) return { rows: (await db.exec(text)).at(-1)?.rows ?? [] };
    return { rows: (await db.query(text, params)).rows };
  };
  return { kind: 'pglite', query, session: (work) => work({ query }), close: () => db.close() };
}

async function open() {
  if (mode === 'product' || mode === 'hosted') {
    const { openDatabase } = await import(path.join(DIST, 'results', 'database.js'));
    const embeddedHostEnv = mode === 'hosted' ? { PATH: process.env.PATH ?? '/usr/bin:/bin' } : undefined;
    return openDatabase({ databaseUrl: undefined, dataDir, embeddedHostEnv }, log);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { migrateDatabase } = await import(path.join(DIST, 'results', 'migrate.js'));
  let options = {};
  if (mode === 'initdb-product') {
    const { PGLITE_START_PARAMS } = await import(path.join(DIST, 'results', 'pglite-open.js'));
    options = { startParams: PGLITE_START_PARAMS, relaxedDurability: false };
  } else if (mode !== 'plain') {
    throw new Error(`unknown mode ${mode}`);
  }
  const created = performance.now();
  const database = adapt(await PGlite.create(dataDir, options));
  log.debug({ ms: Math.round(performance.now() - created) }, 'Embedded database opened');
  await migrateDatabase(database, log);
  return database;
}

const started = performance.now();
const database = await open();
const opened = performance.now();
const { rows } = await database.query('SELECT count(*)::int AS n FROM pgmigrations', [] /* simple protocol */);
const hostKiB = hostPeakKiB();
await database.close();
const closed = performance.now();
console.log(
  JSON.stringify({
    mode,
    /** node start → this module running (node itself, before any import of ours). */
    nodeMs: imported,
    openMs: opened - started,
    closeMs: closed - opened,
    migrations: rows[0]?.n,
    maxRssKiB: process.resourceUsage().maxRSS + hostKiB,
    /** of which the PGlite host process (hosted mode): its VmHWM just before closing. */
    hostKiB,
    /** user + system CPU of the whole process (WebAssembly compilation runs on helper threads). */
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  }),
);

/** Peak RSS of this process's child processes (the PGlite host in hosted mode), from /proc. */
function hostPeakKiB() {
  let total = 0;
  for (const task of fs.readdirSync(`/proc/${process.pid}/task`)) {
    const children = fs.readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const pid of children) {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += hwm ? Number(hwm[1]) : 0;
    }
  }
  return total;
}
