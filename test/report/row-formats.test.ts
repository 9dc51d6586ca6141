import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { ReportSummary } from '../../src/report/model.js';
import { ROWS_PER_PAGE, csvReport, jsonReport } from '../../src/report/row-formats.js';
import type { Database } from '../../src/results/database.js';

/** A run of more rows than one page, served by a fake Database that answers the paged query. */
const ROWS = 2 * ROWS_PER_PAGE + 3;

function resultRow(rowNumber: number): Record<string, unknown> {
  const failed = rowNumber % 4 === 0;
  return {
    row_number: rowNumber, origin: 'git.test', path: `acme/r${rowNumber}`, branch: 'main', clone_url: `https://git.test/acme/r${rowNumber}.git`,
    outcome: failed ? 'build_failed' : 'published', commit_sha: 'a'.repeat(40), builder: 'make', duration_ms: rowNumber * 10,
    error_code: failed ? 'build_exit_2' : null, error_message: failed ? `\u001b[31merror\u001b[0m: "row ${rowNumber}", broken\nsecond line` : null, log_url: null,
  };
}

function fakeDatabase(rowCount: number): { db: Database; queries: number[] } {
  const all = Array.from({ length: rowCount }, (_, index) => resultRow(index + 1));
  const queries: number[] = [];
  const db: Database = {
    kind: 'postgres',
    query: <Row>(_text: string, params: readonly unknown[] = []) => {
      const [, afterRow, limit] = params as [string, number, number];
      queries.push(afterRow);
      return Promise.resolve({ rows: all.filter((row) => Number(row.row_number) > afterRow).slice(0, limit) as Row[] });
    },
    session: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
  return { db, queries };
}

const SUMMARY = {
  run: { id: 'r1', trigger: 'process', mode: 'process', inventoryUri: 'repos.csv', inventorySha256: null, inventoryRows: null, partitionSize: null, partitions: null, createdAt: '2025-01-01T00:00:00.000Z', finishedAt: null },
  counts: { published: 1 },
  aggregates: { total: 1 },
} as unknown as ReportSummary;

async function textOf(chunks: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += chunk;
  return text;
}

describe('jsonReport', () => {
  it('writes every row of a run bigger than a page, exactly as one indented JSON document, reading a page at a time', async () => {
    const { db, queries } = fakeDatabase(ROWS);

    const text = await textOf(jsonReport(db, SUMMARY));

    const parsed = JSON.parse(text) as { repositories: Array<{ rowNumber: number; errorMessage: string | null }> };
    expect(parsed.repositories.map((row) => row.rowNumber)).toEqual(Array.from({ length: ROWS }, (_, index) => index + 1));
    expect(text).toBe(`${JSON.stringify({ ...SUMMARY, repositories: parsed.repositories }, null, 2)}\n`);
    expect(parsed.repositories[3]?.errorMessage).toBe('\u001b[31merror\u001b[0m: "row 4", broken\nsecond line');
    expect(queries).toEqual([0, ROWS_PER_PAGE, 2 * ROWS_PER_PAGE]);
  });

  it('writes an empty list for a run with no rows', async () => {
    const text = await textOf(jsonReport(fakeDatabase(0).db, SUMMARY));

    expect(text).toBe(`${JSON.stringify({ ...SUMMARY, repositories: [] }, null, 2)}\n`);
  });
});

describe('csvReport', () => {
  it('writes the header once and every row, quoted where CSV needs it, without terminal escapes', async () => {
    const text = await textOf(csvReport(fakeDatabase(ROWS).db, 'r1'));

    const records = parse(text, { columns: true }) as Array<Record<string, string>>;
    expect(text.split('\n')[0]).toBe('rowNumber,origin,path,branch,outcome,commitSha,builder,durationMs,errorCode,errorMessage,logUrl');
    expect(records).toHaveLength(ROWS);
    expect(records.map((record) => Number(record.rowNumber))).toEqual(Array.from({ length: ROWS }, (_, index) => index + 1));
    expect(records[3]?.errorMessage).toBe('error: "row 4", broken\nsecond line');
  });

  it('keeps a spreadsheet from running a branch or an error that starts like a formula, and leaves other text as it is', async () => {
    const { db } = fakeDatabase(4);
    const rows = ['=HYPERLINK("http://evil.test","x")', '+1+cmd|\' /C calc\'!A0', '@SUM(1)', 'error: plain'];
    const query = db.query.bind(db);
    db.query = async <Row>(text: string, params?: readonly unknown[]) => {
      const result = await query<Record<string, unknown>>(text, params);
      return { rows: result.rows.map((row, index) => ({ ...row, branch: index === 0 ? '=cmd' : 'main', error_message: rows[index] })) as Row[] };
    };

    const records = parse(await textOf(csvReport(db, 'r1')), { columns: true }) as Array<Record<string, string>>;

    expect(records.map((record) => record.errorMessage)).toEqual([`'${rows[0]}`, `'${rows[1]}`, `'${rows[2]}`, 'error: plain']);
    expect(records.map((record) => record.branch)).toEqual(["'=cmd", 'main', 'main', 'main']);
  });

  it('writes only the header for a run with no rows', async () => {
    expect(await textOf(csvReport(fakeDatabase(0).db, 'r1'))).toBe('rowNumber,origin,path,branch,outcome,commitSha,builder,durationMs,errorCode,errorMessage,logUrl\n');
  });
});

describe('a report produced page by page', () => {
  it('stops between two pages with exit 143 once a termination signal arrived', async () => {
    const controller = new AbortController();
    const { db, queries } = fakeDatabase(ROWS);
    const chunks: string[] = [];

    const writing = (async () => {
      for await (const chunk of csvReport(db, 'r1', controller.signal)) {
        chunks.push(chunk);
        if (chunks.length === 2) controller.abort();
      }
    })();

    await expect(writing).rejects.toMatchObject({ exitCode: 143, code: 'aborted' });
    expect(queries).toEqual([0]);
  });
});
