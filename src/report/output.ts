import fs from 'node:fs/promises';
import { InfrastructureError, UsageError, errorMessage } from '../errors.js';

/** A path the user named that cannot take the file: theirs to fix (exit 2, DESIGN §8). */
const PATH_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'ELOOP']);

/**
 * The error for an output file (`--out`, `--failed-csv`) that could not be opened or written:
 * a bad path is a usage error, anything else (a full disk) an infrastructure error.
 */
export function outputFileError(flag: string, file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && PATH_ERRORS.has(code)) {
    return new UsageError('report_output_unwritable', `${flag} ${file} cannot be written (${code}): check that its directory exists and is writable`, [], err);
  }
  return new InfrastructureError('report_output_failed', `${flag} ${file} could not be written: ${errorMessage(err)}`, err);
}

export async function writeOutputFile(flag: string, file: string, text: string): Promise<void> {
  try {
    await fs.writeFile(file, text);
  } catch (err) {
    throw outputFileError(flag, file, err);
  }
}

/**
 * Writes to stdout; a reader that stopped reading (`report | head`) ends the report quietly,
 * like `git log | head`, instead of an unhandled EPIPE. Any other stream error is raised.
 */
export function writeToStdout(stdout: NodeJS.WritableStream, text: string): Promise<'written' | 'closed'> {
  return new Promise((resolve, reject) => {
    const settle = (err: Error | null | undefined) => {
      if (!err) {
        stdout.off('error', settle);
        resolve('written');
      } else if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
        // Left attached: the stream emits the same error again after the write callback.
        resolve('closed');
      } else {
        reject(new InfrastructureError('report_stdout_failed', `The report could not be written to stdout: ${errorMessage(err)}`, err));
      }
    };
    stdout.on('error', settle);
    stdout.write(text, settle);
  });
}
