import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
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
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
try {
  const server = await startPostgres(path.join(root, 'pg'));
  const db = await openDatabase({ databaseUrl: server.url, dataDir: 'x' }, log);
  // one connection in the pool is enough: find its backend pid
  const store = new SqlResultStore(db);
  const mode = process.argv[2] ?? 'all';
  for (const [id, size] of [['r2000', 2000], ['r10000', 10000], ['resultsOnly', 2000], ['reposOnly', 2000]]) {
    await store.ensureRun({ id, trigger: 'process', mode: 'process', inventoryUri: 'x' });
    const all = mk(id, 100000, id);
    const pids = (await db.query('SELECT pid FROM pg_stat_activity WHERE backend_type = $1', ['client backend'])).rows.map((r) => r.pid);
    const b0 = pids.map(ticks); const c0 = cpu(); const t0 = performance.now();
    for (let i = 0; i < all.length; i += size) {
      const sl = all.slice(i, i + size);
      if (id !== 'reposOnly') await store.insertResults(sl);
      if (id !== 'resultsOnly') await store.upsertRepositories(sl);
    }
    const wall = performance.now() - t0; const nodeCpu = cpu() - c0; const backend = pids.map(ticks).reduce((a, b, k) => a + b - b0[k], 0);
    console.log(id.padEnd(12), 'wall', wall.toFixed(0), 'node cpu', nodeCpu.toFixed(0), 'backend cpu', backend, 'load', fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  }
  await db.close(); await server.stop();
} finally { await cleanUp(); }
