import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from './process.js';
import { createTempDir } from './tmp.js';

const TERRAFORM_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../terraform');

/** One job definition as `terraform plan` makes it: what AWS Batch starts the container with. */
export interface PlannedJob {
  readonly command: string[];
  readonly parameters: Record<string, string>;
  readonly environment: Record<string, string>;
  readonly retryRules: Array<{ action: string; on_exit_code: string | null; on_reason: string | null; on_status_reason: string | null }>;
}

export interface PlannedDeployment {
  readonly jobs: Record<'chunk' | 'processor' | 'report', PlannedJob>;
  /** The EventBridge Scheduler target's `input`: the SubmitJob request of the nightly run. */
  readonly schedule: { JobName: string; JobQueue: string; JobDefinition: string; ContainerOverrides: { Command: string[] } };
}

/** terraform/ configured for a plan without AWS: dummy credentials, no account lookup, STS on a closed port. */
const OFFLINE_PROVIDER = `provider "aws" {
  region                      = var.region
  access_key                  = "test"
  secret_key                  = "test-secret-key"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    sts = "http://127.0.0.1:9"
  }
}
`;

// One line: the console reads its input line by line.
const EXPRESSION = [
  'jsonencode({',
  'jobs = { for job, spec in local.jobs : job => {',
  'command = spec.command, parameters = spec.parameters, environment = spec.environment,',
  'retryRules = aws_batch_job_definition.this[job].retry_strategy[0].evaluate_on_exit } },',
  'schedule = jsondecode(aws_scheduler_schedule.chunk.target[0].input) })',
].join(' ');

/**
 * Plans a copy of terraform/ (terraform.tfvars.example plus `variables`) with the hashicorp/aws
 * provider from the filesystem mirror (.ci/terraform.sh) and reads the planned job definitions
 * and schedule through `terraform console -plan`: the exact values `terraform apply` registers.
 */
export async function planDeployment(variables: Record<string, string>): Promise<PlannedDeployment> {
  const dir = await createTempDir('mass-ingest-tf-');
  try {
    const mirror = process.env.TF_PROVIDER_MIRROR ?? '/opt/tf-plugins';
    const cliConfig = path.join(dir.path, 'terraform.tfrc');
    await fs.writeFile(cliConfig, `provider_installation {\n  filesystem_mirror {\n    path    = "${mirror}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n`);
    const work = path.join(dir.path, 'terraform');
    await fs.mkdir(work);
    for (const file of await fs.readdir(TERRAFORM_DIR)) {
      if (file.endsWith('.tf')) await fs.copyFile(path.join(TERRAFORM_DIR, file), path.join(work, file));
    }
    await fs.copyFile(path.join(TERRAFORM_DIR, 'terraform.tfvars.example'), path.join(work, 'terraform.tfvars'));
    await fs.writeFile(path.join(work, 'offline_override.tf'), OFFLINE_PROVIDER);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: '1', TF_INPUT: '0', AWS_EC2_METADATA_DISABLED: 'true' };
    const terraform = (args: string[], input?: string) => runCommand('terraform', args, { cwd: work, env, input, timeoutMs: 180_000 });
    await terraform(['init', '-backend=false', '-input=false', '-no-color']);
    // `console -plan` plans, then evaluates the expression against the planned values.
    const vars = Object.entries(variables).flatMap(([name, value]) => ['-var', `${name}=${value}`]);
    const { stdout } = await terraform(['console', '-plan', '-no-color', ...vars], `${EXPRESSION}\n`);
    // The console prints the JSON text as an HCL string: JSON's escapes, plus `$${` for `${`.
    const quoted = stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse((JSON.parse(quoted) as string).replaceAll('$${', '${').replaceAll('%%{', '%{')) as PlannedDeployment;
  } finally {
    await dir.remove();
  }
}

/**
 * The container command AWS Batch runs: a job's command override, else the definition's command
 * with each `Ref::name` replaced by the SubmitJob parameter or the definition's default. A
 * placeholder with neither stays as written, as on Batch (AWS Batch User Guide, "Parameters").
 */
export function batchCommand(job: PlannedJob, submitted: { parameters?: Record<string, string>; command?: readonly string[] | undefined }): string[] {
  const parameters = { ...job.parameters, ...submitted.parameters };
  const command = submitted.command ?? job.command;
  return command.map((arg) => (arg.startsWith('Ref::') ? (parameters[arg.slice('Ref::'.length)] ?? arg) : arg));
}

/**
 * What the retry strategy decides for an attempt that ended with `exitCode` (undefined: no exit
 * code) and `statusReason`: the first rule whose patterns all match (glob `*` at the end), else
 * RETRY, as AWS Batch does while attempts remain (API reference, EvaluateOnExit).
 */
export function retryAction(job: PlannedJob, ended: { exitCode?: number; reason?: string; statusReason?: string }): string {
  const matches = (pattern: string | null, value: string | undefined) => {
    if (pattern === null || pattern === '') return true;
    if (value === undefined) return false;
    return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
  };
  const rule = job.retryRules.find(
    (r) => matches(r.on_exit_code, ended.exitCode === undefined ? undefined : String(ended.exitCode)) && matches(r.on_reason, ended.reason) && matches(r.on_status_reason, ended.statusReason),
  );
  return rule ? rule.action.toUpperCase() : 'RETRY';
}
