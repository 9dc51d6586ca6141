import { CsvError, parse, type Parser } from 'csv-parse';
import { MassIngestError, UsageError, errorMessage } from '../errors.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import { REQUIRED_COLUMNS } from './rows.js';

/** The CSV side of reading an inventory (DESIGN §4): the parser, the header, and what its errors mean. */

/** A record and the byte offset just past it (its line break included). */
export interface Located {
  readonly fields: string[];
  readonly end: number;
}

/**
 * The CSV parser (DESIGN §4). Records come as arrays, the header first, so a row's field count
 * can be checked against the header's (csv-parse's `columns` would drop the extra fields of a
 * row with a comma left unquoted).
 */
export function createParser(): Parser {
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: false });
  const push = parser.push.bind(parser);
  let header: string[] | Located | undefined;
  let lastLine = 0;
  // Two assignments a record (a WeakMap lookup per record cost 5-20% of a million-row scan).
  parser.push = (record: unknown) => {
    if (record !== null) {
      lastLine = parser.info.lines;
      header ??= record as string[] | Located;
    }
    return push(record);
  };
  parsed.set(parser, { header: () => (header === undefined ? [] : fieldsOf(header).map((name) => name.trim())), lastLine: () => lastLine });
  return parser;
}

/**
 * Each parser's header and the line its last record ended on (csv-parse's `info.lines` as it
 * pushes it), for its errors: a stream's error can overtake the records still queued.
 */
const parsed = new WeakMap<Parser, { header(): readonly string[]; lastLine(): number }>();

/** createLocatingParser pushes its records through this parser's push, located. */
const fieldsOf = (record: string[] | Located): string[] => (Array.isArray(record) ? record : record.fields);

/**
 * The parser, each record with the byte offset just past it (its line break included, a BOM
 * counted): csv-parse sets `info.bytes` so right before it pushes a record. (Its `on_record`
 * gives the same offset but copies the whole `info` twice a record: 3 s of a million rows.)
 */
export function createLocatingParser(): Parser {
  const parser = createParser();
  const push = parser.push.bind(parser);
  parser.push = (record: unknown) => push(record === null ? null : ({ fields: record as string[], end: parser.info.bytes } satisfies Located));
  return parser;
}

/** A data record by column name (a column with a blank name is no field of ours). */
export function recordOf(columns: readonly string[], fields: readonly string[]): Record<string, string | undefined> {
  const record: Record<string, string | undefined> = Object.create(null) as Record<string, string | undefined>;
  columns.forEach((name, index) => {
    if (name !== '') record[name] = fields[index];
  });
  return record;
}

export function checkHeader(uri: string, header: string[]): string[] {
  const columns = header.map((name) => name.trim());
  if (columns.every((name) => name === '')) throw missingHeader(uri, 'its first line is blank');
  const duplicated = [...new Set(columns.filter((name, index) => name !== '' && columns.indexOf(name) !== index))];
  if (duplicated.length > 0) {
    throw new UsageError(
      'inventory_duplicate_column',
      `Inventory ${scrubUrlSecrets(uri)} names column ${duplicated.map((name) => `"${name}"`).join(', ')} more than once in its header (${columns.join(',')}): keep one of each`,
    );
  }
  const missing = REQUIRED_COLUMNS.filter((name) => !columns.includes(name));
  if (missing.length > 0) {
    throw new UsageError(
      'inventory_missing_column',
      `Inventory ${scrubUrlSecrets(uri)} has no column ${missing.map((name) => `"${name}"`).join(', ')} in its header (found: ${columns.join(',')}); the header must name ${REQUIRED_COLUMNS.join(',')}${caseHint(missing, columns)}`,
    );
  }
  return columns;
}

/** `CloneURL` for `cloneUrl`: the names are matched exactly, as the chunk job and reports write them. */
function caseHint(missing: readonly string[], columns: readonly string[]): string {
  const near = missing.flatMap((name) => columns.filter((column) => column.toLowerCase() === name.toLowerCase()).map((column) => `"${column}" as "${name}"`));
  return near.length > 0 ? ` (names are case-sensitive: write ${near.join(', ')})` : '';
}

export function missingHeader(uri: string, why: string): UsageError {
  return new UsageError('inventory_missing_header', `Inventory ${scrubUrlSecrets(uri)} has no header row (${why}): its first line must name ${REQUIRED_COLUMNS.join(',')}`);
}

/**
 * Any csv-parse error is the inventory's fault (exit 2), whatever its code: not every code
 * starts with `CSV_` (a quote inside an unquoted field is `INVALID_OPENING_QUOTE`). `records`
 * counts the records parsed before the bad one, the header included and blank lines not: the
 * bad one's row number, as row numbers count data records from 1.
 */
export function describeParseError(uri: string, err: unknown, context: ParseContext = {}): unknown {
  if (err instanceof MassIngestError) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof MassIngestError) return cause;
  if (err instanceof CsvError) {
    const { lines, records, column } = err as CsvError & { lines?: number; records?: number; column?: unknown };
    const which = typeof records !== 'number' ? '' : records === 0 ? ' (its header)' : ` (row ${records + (context.rowsBefore ?? 0)})`;
    // A quote left open is found at the end of the file: where its record began says more.
    const unclosed = err.code === 'CSV_QUOTE_NOT_CLOSED';
    const seen = context.parser === undefined ? undefined : parsed.get(context.parser);
    const where = unclosed && typeof records === 'number' && records > 0 ? `after line ${seen?.lastLine() ?? 0}` : `near line ${lines ?? '?'}`;
    let detail = errorMessage(err);
    if (unclosed) detail += ' (the record that opens it runs to the end of the file)';
    // csv-parse counts fields from 0: named here by position from 1 and by column.
    const name = typeof column === 'number' && records !== 0 ? seen?.header()[column] : undefined;
    if (typeof column === 'number') detail = detail.replace(/ on field \d+/, ` in field ${column + 1}${name ? ` (${name})` : ''}`);
    return new UsageError(
      'inventory_malformed',
      `Inventory ${scrubUrlSecrets(uri)} is not valid CSV ${where}${which}: ${detail}; a field holding a quote, a comma or a line break must be in double quotes, its own quotes doubled ("echo ""hi""")`,
      [],
      err,
    );
  }
  return err;
}

/** What the reader knew when the parser failed. */
export interface ParseContext {
  /** Rows before the first one parsed (a partition read from its own bytes). */
  readonly rowsBefore?: number;
  readonly parser?: Parser;
}
