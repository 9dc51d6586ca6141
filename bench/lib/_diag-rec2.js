import fs from 'node:fs';
import path from 'node:path';
import { createBenchRoot, cleanUp, DIST } from './common.js';
import { startPostgres } from './postgres.js';
const { openDatabase } = await import(path.join(DIST, 'results', 'database.js'));
const { SqlResultStore } = await import(path.join(DIST, 'results', 'result-store.js'));
const { createLogger } = await import(path.join(DIST, 'logging', 'logger.js'));
const log = createLogger({ level: 'warn', format: 'json', scrub: (t) => t, fd: 2 });
const root = createBenchRoot('diag');
const S = new Date('2026-01-01T00:00:00Z');
function mk(runId, n, set) { const out = []; for (let r = 1; r <= n; r++) out.push({ runId, rowNumber: r, origin: 'github.com', path: `${set}-${r % 997}/repo-${r}`, branch: 'main', cloneUrl: `https://github.com/${set}/repo-${r}.git`, outcome: 'published', commitSha: 'a'.repeat(40), builder: 'npm', artifacts: [{ name: 'a.tgz', size: 1, sha256: 'b'.repeat(64) }], durationMs: 5, errorCode: undefined, errorMessage: undefined, logUrl: undefined, attempt: 1, startedAt: S, finishedAt: S }); return out; }
const ticks = (pid) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
try {
  const server = await startPostgres(path.join(root, 'pg'));
  const db = await openDatabase({ databaseUrl: server.url, dataDir: 'x' }, log);
  const captured = [];
  const fake = { kind: 'postgres', query: async (t, p) => { captured.push([t, p]); return { rows: [] }; } };
  await new SqlResultStore(fake).insertResults(mk('x', 1, 'x'));
  const upsertSql = captured[0][0];
  const plainSql = upsertSql.slice(0, upsertSql.indexOf('ON CONFLICT'));
  await db.query(`CREATE TABLE rr_nofk (LIKE repository_results INCLUDING ALL)`);
  await db.query(`CREATE TABLE rr_pkonly (LIKE repository_results INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  await db.query(`ALTER TABLE rr_pkonly ADD PRIMARY KEY (run_id, row_number)`);
  const store = new SqlResultStore(db);
  const variants = [
    ['upsert (current)', upsertSql], ['plain INSERT', plainSql],
    ['plain, no FK', plainSql.replace('INSERT INTO repository_results', 'INSERT INTO rr_nofk')],
    ['plain, PK only, no FK', plainSql.replace('INSERT INTO repository_results', 'INSERT INTO rr_pkonly')],
  ];
  for (const [name, sql] of variants) {
    const id = name.replace(/\W+/g, '_');
    await store.ensureRun({ id, trigger: 'process', mode: 'process', inventoryUri: 'x' });
    const all = mk(id, 50000, id);
    const pids = (await db.query('SELECT pid FROM pg_stat_activity WHERE backend_type = $1', ['client backend'])).rows.map((r) => r.pid);
    const b0 = pids.map(ticks); const t0 = performance.now();
    for (let i = 0; i < all.length; i += 2000) {
      captured.length = 0; await new SqlResultStore(fake).insertResults(all.slice(i, i + 2000));
      await db.query(sql, captured[0][1]);
    }
    const wall = performance.now() - t0; const backend = pids.map(ticks).reduce((a, b, k) => a + b - b0[k], 0);
    console.log(name.padEnd(24), '50k rows: wall', wall.toFixed(0), 'backend cpu', backend, 'load', fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  }
  await db.close(); await server.stop();
} finally { await cleanUp(); }
