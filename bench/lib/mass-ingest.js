// Runs the real CLI (`node dist/cli.js process …`) and reads its JSON log lines to split the
// wall time into the fixed part (node, config, database open, close) and the repositories.
import fs from 'node:fs';
import path from 'node:path';
import { CLI, run } from './common.js';

/**
 * `process <inventory> --start 1 --end <count>` with the embedded database in `dataDir` and a
 * publish directory. Returns wall time, the span from the first repository's start to the last
 * one's finish (from the "Repository finished" lines' time and durationMs), and the outcome counts.
 */
export async function runProcess({ env, inventory, count, dataDir, publishDir, workdir, concurrency = 1, force = false, logLevel = 'info' }) {
  fs.mkdirSync(workdir, { recursive: true });
  const args = [CLI, 'process', inventory, '--start', '1', '--end', String(count), '--concurrency', String(concurrency), '--workdir', workdir];
  if (force) args.push('--force');
  const result = await run(process.execPath, args, {
    env: { ...env, MASS_INGEST_DATA_DIR: dataDir, PUBLISH_URL: publishDir, LOG_FORMAT: 'json', LOG_LEVEL: logLevel },
    cwd: path.dirname(inventory),
  });
  const lines = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
  const finished = lines.filter((line) => line.msg === 'Repository finished');
  const counts = {};
  for (const line of finished) counts[line.outcome] = (counts[line.outcome] ?? 0) + 1;
  const firstStart = Math.min(...finished.map((line) => Date.parse(line.time) - line.durationMs));
  const lastEnd = Math.max(...finished.map((line) => Date.parse(line.time)));
  const reposMs = finished.length > 0 ? lastEnd - firstStart : NaN;
  // With LOG_LEVEL=debug: total time per step over all repositories ("Step completed" lines).
  const steps = {};
  for (const line of lines) if (line.msg === 'Step completed') steps[line.step] = (steps[line.step] ?? 0) + line.durationMs;
  const opened = lines.find((line) => line.msg === 'Embedded database opened');
  return {
    code: result.code,
    wallMs: result.ms,
    reposMs,
    /** spawn → first repository started: node, imports, config, opening and migrating the database. */
    startupMs: firstStart - result.startedAt,
    /** last repository finished → exit: final flush, close. */
    shutdownMs: result.ms - (lastEnd - result.startedAt),
    counts,
    steps,
    /** debug only: PGlite.create's own time, as logged by openDatabase. */
    pgliteCreateMs: opened?.ms,
    stderr: result.stderr,
  };
}

/** "published: 20" style summary, and whether the counts are exactly what the bench expects. */
export function checkCounts(result, expected) {
  const text = Object.entries(result.counts)
    .map(([outcome, n]) => `${outcome}: ${n}`)
    .join(', ');
  const ok = result.code === 0 && Object.entries(expected).every(([outcome, n]) => (result.counts[outcome] ?? 0) === n)
    && Object.values(result.counts).reduce((a, b) => a + b, 0) === Object.values(expected).reduce((a, b) => a + b, 0);
  return { ok, text: text || `(no repositories; exit ${result.code})` };
}

/** Prints why a run is not what the bench expected (its numbers are not comparable); true when it is. */
export function warnUnexpected(label, result, expected) {
  const { ok, text } = checkCounts(result, expected);
  if (ok) return true;
  console.log(`WARNING ${label}: exit ${result.code}, outcomes ${text}; expected ${JSON.stringify(expected)}`);
  if (result.stderr.trim()) console.log(result.stderr.trim().split('\n').slice(-10).join('\n'));
  return false;
}
