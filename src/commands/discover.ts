import type { CommandContext } from './context.js';
import { UsageError, type ExitCode } from '../errors.js';

export interface DiscoverOptions {
  readonly query: string | undefined;
  readonly limit: number | undefined;
  readonly orgs: readonly string[];
  readonly users: readonly string[];
  readonly includeForks: boolean;
  readonly includeArchived: boolean;
  readonly since: string | undefined;
  readonly resume: boolean;
  readonly maxWaitSeconds: number | undefined;
  readonly out: string;
}

/** `mass-ingest discover`: placeholder until discovery lands (issue 8). */
export async function runDiscover(_options: DiscoverOptions, _context: CommandContext): Promise<ExitCode> {
  throw new UsageError('not_implemented', 'mass-ingest discover is not available in this version');
}
