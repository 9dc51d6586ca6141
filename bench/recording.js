// `npm run bench -- recording`: part d of `npm run bench -- processor` alone (issue 4, goal d):
// 100,000 outcomes through SqlResultStore.recordOutcomes in ≤ 3 s and ≥ 20× faster than one
// INSERT per row, on PostgreSQL 15 and on PGlite (in this process, and served from its own
// process as the processor uses it). Prints figures and PASS/MISS; never fails on a miss.
import path from 'node:path';
import { cleanUp, createBenchRoot, fmtMs, loadNote, printTable } from './lib/common.js';
import { startPostgres } from './lib/postgres.js';
import { benchRecording } from './lib/recording.js';

const root = createBenchRoot('recording');
try {
  const started = performance.now();
  console.log(loadNote());
  const server = await startPostgres(path.join(root, 'pg'));
  const goals = await benchRecording(root, server);
  console.log('\n-- summary --');
  printTable(['goal (issue 4)', 'measured', 'goal', ''], goals);
  console.log(`bench took ${fmtMs(performance.now() - started)}; ${loadNote()}`);
} finally {
  await cleanUp();
}
