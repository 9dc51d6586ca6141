import path from 'node:path';
import { createBenchRoot, cleanUp, DIST } from './common.js';
const { openDatabase } = await import(path.join(DIST, 'results', 'database.js'));
const { SqlResultStore } = await import(path.join(DIST, 'results', 'result-store.js'));
const { createLogger } = await import(path.join(DIST, 'logging', 'logger.js'));
const log = createLogger({ level: 'warn', format: 'json', scrub: (t) => t, fd: 2 });
const root = createBenchRoot('diag');
const S = new Date('2026-01-01T00:00:00Z');
function mk(runId, n, set) { const out = []; for (let r = 1; r <= n; r++) out.push({ runId, rowNumber: r, origin: 'github.com', path: `${set}-${r % 997}/repo-${r}`, branch: 'main', cloneUrl: `https://github.com/${set}/repo-${r}.git`, outcome: 'published', commitSha: 'a'.repeat(40), builder: 'npm', artifacts: [{ name: 'a.tgz', size: 1, sha256: 'b'.repeat(64) }], durationMs: 5, errorCode: undefined, errorMessage: undefined, logUrl: undefined, attempt: 1, startedAt: S, finishedAt: S }); return out; }
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
try {
  const db = await openDatabase({ databaseUrl: undefined, dataDir: path.join(root, 'db') }, log);
  const store = new SqlResultStore(db);
  await store.ensureRun({ id: 'r', trigger: 'process', mode: 'process', inventoryUri: 'x' });
  const all = mk('r', 20000, 's');
  const { Session } = await import('node:inspector/promises');
  const session = new Session(); session.connect();
  await session.post('Profiler.enable'); await session.post('Profiler.start');
  const c0 = cpu(); const t0 = performance.now();
  await store.recordOutcomes(all);
  const { profile } = await session.post('Profiler.stop');
  (await import('node:fs')).writeFileSync('/tmp/prof3.cpuprofile', JSON.stringify(profile));
  console.log('20k pglite wall', (performance.now() - t0).toFixed(0), 'cpu', (cpu() - c0).toFixed(0));
  await db.close();
} finally { await cleanUp(); }
