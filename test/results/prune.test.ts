import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import type { Database } from '../../src/results/database.js';
import { pruneRuns } from '../../src/results/prune.js';

/** pruneRuns over a fake Database (our own seam) that records the statements and answers no run. */
function fakeDatabase(): Database & { readonly statements: Array<{ text: string; params: readonly unknown[] }> } {
  const statements: Array<{ text: string; params: readonly unknown[] }> = [];
  const database = {
    kind: 'postgres' as const,
    statements,
    query: async <Row>(text: string, params: readonly unknown[] = []) => {
      statements.push({ text, params });
      return { rows: [] as Row[] };
    },
    session: async <T>(work: (connection: Pick<Database, 'query'>) => Promise<T>) => work(database),
    close: async () => undefined,
  };
  return database;
}

const silent = createLogger({ level: 'silent', format: 'json', scrub: (text: string) => text, fd: 2 });

describe('pruneRuns with a retention longer than dates reach', () => {
  it('prunes nothing, rather than failing with RangeError, for --older-than 1000000000 (a safe integer the config accepts)', async () => {
    const database = fakeDatabase();

    const summary = await pruneRuns(database, { olderThanDays: 1_000_000_000, keepRuns: 10, dryRun: false, now: new Date('2026-11-28T00:00:00Z') }, silent);

    expect(summary).toEqual({ runs: [], results: 0 });
    // The cutoff is a timestamp PostgreSQL reads (its range starts at 4713 BC; an ISO year needs four digits).
    expect(database.statements[0]?.params[0]).toBe('0001-01-01T00:00:00.000Z');
  });
});

describe('pruneRuns with a deadline', () => {
  it('deletes nothing once its deadline has passed, and says the prune is unfinished', async () => {
    const database = fakeDatabase();
    const old = { id: 'old', created_at: '2026-01-01T00:00:00Z', results: '3' };
    const answering = { ...database, query: async <Row>(text: string, params: readonly unknown[] = []) => ((await database.query<Row>(text, params)), { rows: (text.includes('WITH kept') ? [old] : []) as Row[] }) };

    const summary = await pruneRuns(answering, { olderThanDays: 30, keepRuns: 1, dryRun: false, now: new Date('2026-11-28T00:00:00Z'), deadline: Date.now() - 1 }, silent);

    expect(summary).toEqual({ runs: [], results: 0, unfinished: true });
    expect(database.statements.filter((statement) => statement.text.startsWith('DELETE'))).toEqual([]);
  });
});
