import type { CommandContext } from './context.js';
import { UsageError, type ExitCode } from '../errors.js';

export interface ChunkOptions {
  readonly inventory: string;
  readonly mode: 'array' | 'jobs';
  readonly dryRun: boolean;
  readonly local: boolean;
  readonly parallel: number;
  readonly only: 'failed' | 'changed' | undefined;
  readonly run: string | undefined;
  readonly trigger: 'schedule' | 'manual' | undefined;
  /** The raw flags, for the few that map onto config. */
  readonly argv: Record<string, unknown>;
}

/** `mass-ingest chunk`: placeholder until the chunk job lands (issue 6). */
export async function runChunk(_options: ChunkOptions, _context: CommandContext): Promise<ExitCode> {
  throw new UsageError('not_implemented', 'mass-ingest chunk is not available in this version');
}
