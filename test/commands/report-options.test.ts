import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, CLI, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

/**
 * `report`'s flags as a script passes them: a flag given twice, or with its value missing or
 * empty (an unset shell variable), is a usage error naming the flag (exit 2, one line), checked
 * before any database is opened — never the last run reported instead, nor a stack trace.
 */
let tmp: TempDir;
let env: Record<string, string>;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-report-options-');
  env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db') });
});

afterAll(async () => {
  await tmp?.remove();
});

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
}

describe('mass-ingest report flags', () => {
  it.each([
    [['--format', 'csv', '--format', 'json'], 'mass-ingest: --format may be given once [option_repeated]'],
    [['--run', 'a', '--run', 'b'], 'mass-ingest: --run may be given once [option_repeated]'],
    [['--out', 'a.txt', '--out', 'b.txt'], 'mass-ingest: --out may be given once [option_repeated]'],
    [['--failed-csv', 'a.csv', '--failed-csv', 'b.csv'], 'mass-ingest: --failed-csv may be given once [option_repeated]'],
    [['--run'], "mass-ingest: --run needs a value (a value starting with '-' is written --run=-…) [option_value_missing]"],
    [['--out'], "mass-ingest: --out needs a value (a value starting with '-' is written --out=-…) [option_value_missing]"],
    [['--failed-csv'], "mass-ingest: --failed-csv needs a value (a value starting with '-' is written --failed-csv=-…) [option_value_missing]"],
    [['--format'], "mass-ingest: --format needs a value (a value starting with '-' is written --format=-…) [option_value_missing]"],
    [['--trend'], "mass-ingest: --trend needs a value (a value starting with '-' is written --trend=-…) [option_value_missing]"],
    [['--run', ''], 'mass-ingest: --run needs a run id or "last", got an empty one [option_value_missing]'],
    [['--out', ''], 'mass-ingest: --out needs a file name, got an empty one [option_value_missing]'],
    [['--failed-csv', ' '], 'mass-ingest: --failed-csv needs a file name, got an empty one [option_value_missing]'],
    [['--trend', 'abc'], 'mass-ingest: --trend must be an integer from 1 to 1000, got "abc" [report_trend]'],
    [['--trend', '2.5'], 'mass-ingest: --trend must be an integer from 1 to 1000, got "2.5" [report_trend]'],
  ])('report %j exits 2 with one line naming the flag', async (args, message) => {
    const result = await runCli(['report', ...args], { env });

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(errorLines(result.stderr)).toEqual([message]);
  });

  it('refuses to print an HTML page on a terminal, and prints it into a pipe', async () => {
    // util-linux `script` gives the command a terminal for its stdout.
    const onTerminal = await promisify(execFile)('script', ['-qec', `${process.execPath} ${CLI} report --format html`, '/dev/null'], { env }).then(
      () => ({ code: 0, output: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, output: err.stdout }),
    );
    const intoPipe = await runCli(['report', '--format', 'html'], { env });

    expect(onTerminal.code).toBe(2);
    expect(onTerminal.output).toContain('--format html writes a page, not text for a terminal: add --out report.html (or redirect stdout to a file) [report_html_to_terminal]');
    expect(errorLines(intoPipe.stderr).join('\n')).not.toContain('report_html_to_terminal');
  });
});
