import fs from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveInventory } from '../../src/chunk/only-subset.js';
import { planChunk } from '../../src/chunk/plan.js';
import { openDatabase, type Database } from '../../src/results/database.js';
import type { Outcome } from '../../src/results/outcome.js';
import { SqlResultStore } from '../../src/results/result-store.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const HEADER = 'cloneUrl,branch,origin,path,note';
const row = (name: string) => `https://git.test/acme/${name}.git,main,git.test,acme/${name},"keep, this"`;

let tmp: TempDir;
let database: Database;
let inventory: string;
let outputDir: string;
const lines: Array<Record<string, unknown>> = [];
const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

/** A run as `chunk --local` records it: the run over `file`, one partition, the outcomes of its rows. */
async function recordRun(runId: string, file: string, outcomes: Array<Outcome | [Outcome, string]>): Promise<void> {
  const plan = await planChunk(file, 100);
  const store = new SqlResultStore(database);
  await store.ensureRun({ id: runId, trigger: 'local', mode: 'local', inventoryUri: plan.inventoryShown, inventorySha256: plan.sha256, inventoryRows: plan.rows, partitionSize: 100, partitions: 1 });
  await store.upsertPartitions([{ runId, partition: 0, startRow: 1, endRow: plan.rows, status: 'succeeded' }]);
  await store.recordOutcomes(
    outcomes.map((given, index) => ({
      runId, rowNumber: index + 1, origin: 'git.test', path: `acme/r${runId}-${index}`, branch: 'main', cloneUrl: undefined, outcome: Array.isArray(given) ? given[0] : given,
      commitSha: undefined, builder: undefined, artifacts: undefined, durationMs: 0, errorCode: Array.isArray(given) ? given[1] : undefined, errorMessage: undefined,
      logUrl: undefined, attempt: 1, startedAt: new Date(), finishedAt: new Date(),
    })),
  );
}

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-only-');
  database = await openDatabase({ databaseUrl: undefined, dataDir: path.join(tmp.path, 'db') }, pino({ level: 'silent' }));
  inventory = path.join(tmp.path, 'repos.csv');
  outputDir = path.join(tmp.path, 'derived');
  await fs.writeFile(inventory, [HEADER, row('a'), row('b'), row('c'), row('d'), ''].join('\n'));
  await recordRun('first', inventory, ['published', 'build_failed', 'clone_failed', 'unchanged']);
});

afterAll(async () => {
  await database?.close();
  await tmp?.remove();
});

describe('deriveInventory', () => {
  it('takes the rows of a run over a derived inventory from that inventory, though the original is given, and says so', async () => {
    const second = await deriveInventory({ inventory, only: 'failed', run: 'first', outputDir, newRunId: 'second' }, database, log);
    await recordRun('second', second.path, ['build_failed', 'published']);
    lines.length = 0;

    const third = await deriveInventory({ inventory, only: 'failed', run: 'last', outputDir, newRunId: 'third' }, database, log);

    expect(third).toEqual({ path: path.join(outputDir, 'third-failed.csv'), rows: 1, fromRun: 'second' });
    expect(await fs.readFile(third.path, 'utf8')).toBe(`${HEADER}\n${row('b')}\n`);
    expect(lines.find((line) => line.msg === 'Rows taken from the inventory the run read')).toMatchObject({ fromRun: 'second', inventory: second.path, given: inventory });
    expect((await fs.readdir(outputDir)).sort()).toEqual(['second-failed.csv', 'third-failed.csv']);
  });

  it('leaves out a failed row that repeats an earlier row, as report --failed-csv does', async () => {
    const repeated = path.join(tmp.path, 'repeated.csv');
    await fs.writeFile(repeated, [HEADER, row('a'), row('b'), row('a'), row('c'), ''].join('\n'));
    await recordRun('repeats', repeated, ['published', 'build_failed', ['invalid', 'duplicate_row'], ['invalid', 'missing_clone_url']]);

    const derived = await deriveInventory({ inventory: repeated, only: 'failed', run: 'repeats', outputDir, newRunId: 'after-repeats' }, database, log);

    expect(derived.rows).toBe(2);
    expect(await fs.readFile(derived.path, 'utf8')).toBe(`${HEADER}\n${row('b')}\n${row('c')}\n`);
  });

  it('exits 2 naming the run and its recorded inventory when that inventory is gone', async () => {
    const gone = path.join(outputDir, 'gone-failed.csv');
    await fs.writeFile(gone, [HEADER, row('c'), ''].join('\n'));
    await recordRun('gone', gone, ['clone_failed']);
    await fs.rm(gone);

    const deriving = deriveInventory({ inventory, only: 'failed', run: 'gone', outputDir, newRunId: 'after-gone' }, database, log);

    await expect(deriving).rejects.toMatchObject({ code: 'run_inventory_unreadable', exitCode: 2 });
    await expect(deriving).rejects.toThrow(`Run gone read its rows from inventory ${gone}, which cannot be read`);
    await expect(fs.access(path.join(outputDir, 'after-gone-failed.csv'))).rejects.toThrow();
  });

  it('still refuses the inventory the run recorded when its bytes changed', async () => {
    const changed = path.join(tmp.path, 'changing.csv');
    await fs.writeFile(changed, [HEADER, row('a'), ''].join('\n'));
    await recordRun('changing', changed, ['build_failed']);
    await fs.writeFile(changed, [HEADER, row('z'), ''].join('\n'));

    const deriving = deriveInventory({ inventory: changed, only: 'failed', run: 'changing', outputDir, newRunId: 'after-change' }, database, log);

    await expect(deriving).rejects.toMatchObject({ code: 'inventory_changed', exitCode: 2 });
    await expect(deriving).rejects.toThrow(`Inventory ${changed} (sha256 `);
    await expect(deriving).rejects.toThrow(`is not the file run changing read (${changed}, sha256 `);
    await expect(fs.access(path.join(outputDir, 'after-change-failed.csv'))).rejects.toThrow();
    await expect(fs.access(path.join(outputDir, 'after-change-failed.csv.partial'))).rejects.toThrow();
  });
});
