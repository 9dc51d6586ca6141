import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PartitionRecorder } from '../../src/chunk/partition-recorder.js';
import type { PartitionRecord } from '../../src/results/result-store.js';

const record = (partition: number): PartitionRecord => ({ runId: 'run-1', partition, startRow: partition + 1, endRow: partition + 1, status: 'submitted', batchJobId: `job-${partition}` });

/** A database that refuses its first `failures` writes; the partitions of each write it took. */
function databaseFailing(failures: number) {
  const written: number[][] = [];
  let left = failures;
  const write = async (records: readonly PartitionRecord[]) => {
    if (left-- > 0) throw new Error('Connection terminated unexpectedly');
    written.push(records.map((r) => r.partition));
  };
  return { written, write };
}

function capture() {
  const lines: Array<{ level: number; msg: string; count?: number }> = [];
  return { lines, log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
}

describe('PartitionRecorder', () => {
  it('writes a batch when it is full and the rest when closed', async () => {
    const database = databaseFailing(0);
    const recorder = new PartitionRecorder(database.write, pino({ level: 'silent' }), 2, 60_000);

    recorder.add([record(0), record(1)]);
    await new Promise((resolve) => setImmediate(resolve));
    recorder.add([record(2)]);
    await recorder.close();

    expect(database.written).toEqual([[0, 1], [2]]);
  });

  it('after a failed write, records everything on close, each partition once', async () => {
    const database = databaseFailing(1);
    const { lines, log } = capture();
    const recorder = new PartitionRecorder(database.write, log, 2, 60_000);

    recorder.add([record(0), record(1)]);
    await new Promise((resolve) => setImmediate(resolve));
    recorder.add([record(2), record(3)]);
    recorder.add([record(4)]);
    await recorder.close();

    expect(database.written.flat().sort()).toEqual([0, 1, 2, 3, 4]);
    expect(lines.map((line) => [line.level, line.msg, line.count])).toEqual([[40, 'Recording submitted partitions failed', 2]]);
  });

  it('fails its close with the first error when the database is still down', async () => {
    const database = databaseFailing(2);
    const recorder = new PartitionRecorder(database.write, pino({ level: 'silent' }), 1, 60_000);

    recorder.add([record(0)]);

    await expect(recorder.close()).rejects.toThrow('Connection terminated unexpectedly');
    expect(database.written).toEqual([]);
  });
});
