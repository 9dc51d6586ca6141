import { UsageError } from '../errors.js';

/**
 * AWS Batch replaces `Ref::<name>` in a job definition's command with the SubmitJob parameter
 * `<name>`, or the definition's default; with neither, the container gets the literal text
 * (terraform/jobs.tf: `--run-id Ref::runId`). Such a value is a job submitted without a
 * parameter, not a bad run id or partition size: it is reported as that, before any other check
 * of the value, every one at once (STYLE 12).
 * https://docs.aws.amazon.com/batch/latest/userguide/job_definition_parameters.html#parameters
 */
const PLACEHOLDER = /^Ref::(.+)$/s;

export interface UnfilledParameter {
  /** How the user gave it: `--run-id`, or `the inventory argument`. */
  readonly given: string;
  readonly parameter: string;
}

/**
 * The values of parsed `argv` that are still `Ref::` placeholders. `positionals` names the
 * arguments that are not options; yargs' camelCase copies of kebab-case options are skipped.
 */
export function findUnfilledParameters(argv: Readonly<Record<string, unknown>>, positionals: readonly string[]): UnfilledParameter[] {
  return Object.entries(argv).flatMap(([key, value]) => {
    if (key === '$0' || /[A-Z]/.test(key)) return [];
    const given = key === '_' ? 'an argument' : positionals.includes(key) ? `the ${key} argument` : `--${key}`;
    return (Array.isArray(value) ? value : [value]).flatMap((item) => {
      const parameter = typeof item === 'string' ? PLACEHOLDER.exec(item)?.[1] : undefined;
      return parameter === undefined ? [] : [{ given, parameter }];
    });
  });
}

/** Throws the usage error (exit 2: a retry gets the same command) naming each unfilled parameter. */
export function assertBatchParametersFilled(argv: Readonly<Record<string, unknown>>, positionals: readonly string[]): void {
  const unfilled = findUnfilledParameters(argv, positionals);
  if (unfilled.length === 0) return;
  const problems = unfilled.map(
    ({ given, parameter }) =>
      `${given} is "Ref::${parameter}": the job was submitted without the Batch parameter ${parameter}; pass it: aws batch submit-job … --parameters ${parameter}=<value>`,
  );
  if (problems.length === 1) throw new UsageError('batch_parameter_missing', `Missing Batch parameter: ${problems[0]}`, problems);
  const names = [...new Set(unfilled.map(({ parameter }) => parameter))];
  const headline = `Missing Batch parameters (${problems.length} problems): pass them all: aws batch submit-job … --parameters ${names.map((name) => `${name}=<value>`).join(',')}`;
  throw new UsageError('batch_parameter_missing', headline, problems);
}
