/** Every repository ends in exactly one of these (DESIGN §5). */
export const OUTCOMES = [
  'published',
  'unchanged',
  'invalid',
  'clone_failed',
  'no_build_tool',
  'build_failed',
  'timed_out',
  'publish_failed',
  'aborted',
  'crashed',
] as const;

export type Outcome = (typeof OUTCOMES)[number];

/** What `--strict` does not count as failed (DESIGN §2). */
export const SUCCESSFUL_OUTCOMES: ReadonlySet<Outcome> = new Set(['published', 'unchanged', 'no_build_tool']);

export function isFailure(outcome: Outcome): boolean {
  return !SUCCESSFUL_OUTCOMES.has(outcome);
}

export interface RepositoryOutcome {
  readonly runId: string;
  readonly rowNumber: number;
  readonly origin: string | undefined;
  readonly path: string | undefined;
  readonly branch: string | undefined;
  readonly cloneUrl: string | undefined;
  readonly outcome: Outcome;
  readonly commitSha: string | undefined;
  readonly builder: string | undefined;
  readonly artifacts: ReadonlyArray<{ name: string; size: number; sha256: string }> | undefined;
  readonly durationMs: number;
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
  readonly logUrl: string | undefined;
  readonly attempt: number;
  readonly startedAt: Date;
  readonly finishedAt: Date;
}
