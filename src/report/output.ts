import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
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

/** A report as one string, or as chunks produced while it is written (csv and json of a big run). */
export type ReportText = string | AsyncIterable<string>;

async function* chunksOf(text: ReportText): AsyncIterable<string> {
  if (typeof text === 'string') yield text;
  else yield* text;
}

export async function writeOutputFile(flag: string, file: string, text: ReportText): Promise<void> {
  const target = await outputTarget(file);
  try {
    await writeText(flag, file, target.path, text);
    await target.commit().catch((err: unknown) => Promise.reject(outputFileError(flag, file, err)));
  } catch (err) {
    await target.abort();
    throw err;
  }
}

/** `text` into `into`, standing for the file the user named (`file`, in messages). */
export async function writeText(flag: string, file: string, into: string, text: ReportText): Promise<void> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(into, 'w');
  } catch (err) {
    throw outputFileError(flag, file, err);
  }
  try {
    // Only a failed write is the file's fault; an error producing the text (the database, a signal) passes as it is.
    for await (const chunk of chunksOf(text)) {
      await handle.writeFile(chunk).catch((err: unknown) => Promise.reject(outputFileError(flag, file, err)));
    }
  } finally {
    await handle.close();
  }
}

export interface OutputTarget {
  /** Where to write. */
  readonly path: string;
  /** Puts what was written in place of the file named. */
  commit(): Promise<void>;
  /** Removes what was written, leaving the file named as it was. */
  abort(): Promise<void>;
}

/**
 * A file appears whole or not at all: it is written under a temporary name beside it and renamed
 * over it once complete, so a failure, a second Ctrl-C or a kill leaves the earlier file as it was
 * and never a truncated one that passes for whole (a `--failed-csv` rerun would miss rows). A
 * target that is no regular file (/dev/stdout, a pipe) is written in place.
 */
export async function outputTarget(file: string): Promise<OutputTarget> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (stat !== undefined && !stat.isFile()) return { path: file, commit: async () => undefined, abort: async () => undefined };
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.partial`);
  return { path: temp, commit: () => fs.rename(temp, file), abort: () => fs.rm(temp, { force: true }).catch(() => undefined) };
}

/**
 * Writes to stdout, chunk by chunk as the stream takes them; a reader that stopped reading
 * (`report | head`) ends the report quietly, like `git log | head`, instead of an unhandled
 * EPIPE, and no more of it is produced. Any other stream error is raised.
 */
export async function writeToStdout(stdout: NodeJS.WritableStream, text: ReportText): Promise<'written' | 'closed'> {
  for await (const chunk of chunksOf(text)) {
    if ((await writeChunk(stdout, chunk)) === 'closed') return 'closed';
  }
  return 'written';
}

function writeChunk(stdout: NodeJS.WritableStream, text: string): Promise<'written' | 'closed'> {
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
