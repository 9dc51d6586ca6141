import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/errors.js';
import { RecordBuffer } from '../../src/pipeline/record-buffer.js';
import type { RepositoryOutcome } from '../../src/results/outcome.js';

function outcome(rowNumber: number): RepositoryOutcome {
  const at = new Date('2026-02-01T10:00:00Z');
  return {
    runId: 'run-1', rowNumber, origin: 'github.com', path: `acme/r${rowNumber}`, branch: 'main', cloneUrl: `https://github.com/acme/r${rowNumber}.git`,
    outcome: 'published', commitSha: 'a'.repeat(40), builder: 'make', artifacts: [], durationMs: 1, errorCode: undefined, errorMessage: undefined,
    logUrl: undefined, attempt: 1, startedAt: at, finishedAt: at,
  };
}

/** A store that refuses its first `failures` writes, and the outcomes it recorded. */
function storeFailing(failures: number) {
  const recorded: number[][] = [];
  let left = failures;
  return {
    recorded,
    recordOutcomes: async (outcomes: readonly RepositoryOutcome[]) => {
      if (left-- > 0) throw new Error('connection refused');
      recorded.push(outcomes.map((o) => o.rowNumber));
    },
  };
}

function capture() {
  const lines: Array<{ level: number; msg: string; count?: number }> = [];
  return { lines, log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
}

describe('RecordBuffer', () => {
  it('writes a batch when it is full and the rest when closed', async () => {
    const store = storeFailing(0);
    const buffer = new RecordBuffer(store, pino({ level: 'silent' }), 2, 60_000);

    for (const row of [1, 2]) buffer.add(outcome(row));
    await buffer.flush();
    buffer.add(outcome(3));
    await buffer.close();

    expect(store.recorded).toEqual([[1, 2], [3]]);
  });

  it('keeps a batch whose write failed and writes it with the next one, saying it will retry', async () => {
    const store = storeFailing(1);
    const { lines, log } = capture();
    const buffer = new RecordBuffer(store, log, 2, 60_000);

    for (const row of [1, 2]) buffer.add(outcome(row));
    await buffer.flush().catch(() => undefined);
    for (const row of [3, 4]) buffer.add(outcome(row));
    await buffer.flush();
    buffer.add(outcome(5));
    await buffer.close();

    expect(store.recorded).toEqual([[1, 2], [3, 4], [5]]);
    expect(lines.map((line) => [line.level, line.msg, line.count])).toEqual([[40, 'Recording outcomes failed, will retry', 2]]);
  });

  it('fails its close when the last write fails, promising no retry', async () => {
    const store = storeFailing(5);
    const { lines, log } = capture();
    const buffer = new RecordBuffer(store, log, 10, 60_000);

    buffer.add(outcome(1));
    await expect(buffer.close()).rejects.toThrow('connection refused');

    expect(store.recorded).toEqual([]);
    expect(lines.map((line) => [line.level, line.msg, line.count])).toEqual([[50, 'Recording outcomes failed', 1]]);
  });

  it('fails its close naming the rows whose outcomes were not recorded when the database is out of disk', async () => {
    const full = new InfrastructureError('db_disk_full', 'PostgreSQL has no disk space left (could not extend file "base/5/16449": No space left on device): free space where the database keeps its files, then run again');
    const store = { recordOutcomes: async () => Promise.reject(full) };
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const buffer = new RecordBuffer(store, log, 10, 60_000);

    for (const row of [5, 1, 2, 3, 9]) buffer.add(outcome(row));
    const err = await buffer.close().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InfrastructureError);
    expect(err).toMatchObject({ code: 'db_disk_full', cause: full, message: `${full.message}; 5 outcomes were not recorded (rows 1-3, 5, 9)` });
    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: 'Recording outcomes failed', count: 5, rows: '1-3, 5, 9' })]);
  });
});
