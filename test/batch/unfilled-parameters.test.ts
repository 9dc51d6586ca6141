import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUnfilledParameters } from '../../src/batch/unfilled-parameters.js';
import { baseEnv, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

/**
 * A job submitted by hand without one of its definition's parameters gets the literal
 * `Ref::<name>` as an argument (terraform/jobs.tf). The real CLI says which parameter is missing
 * and how to pass it, instead of rejecting the value as a bad run id or choice.
 */
let tmp: TempDir;
let env: Record<string, string>;
let inventory: string;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-unfilled-parameters-');
  env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });
  inventory = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(inventory, 'cloneUrl,branch,origin,path\nftp://git.example.test/r.git,main,git.example.test,acme/r\n');
});

afterAll(async () => {
  await tmp.remove();
});

const hint = (option: string, name: string) =>
  `${option} is "Ref::${name}": the job was submitted without the Batch parameter ${name}; pass it: aws batch submit-job … --parameters ${name}=<value>`;

describe('mass-ingest with a Batch parameter placeholder left in its command', () => {
  it('exits 2 listing every unfilled parameter of a processor job, with the options they were given to', async () => {
    const args = ['process', inventory, '--run-id', 'Ref::runId', '--partition-size', 'Ref::partitionSize', '--inventory-sha256', 'Ref::inventorySha256'];

    const result = await runCli(args, { env, cwd: tmp.path });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Missing Batch parameters (3 problems): pass them all: aws batch submit-job … --parameters runId=<value>,partitionSize=<value>,inventorySha256=<value>');
    expect(result.stderr).toContain(`  - ${hint('--run-id', 'runId')}\n`);
    expect(result.stderr).toContain(`  - ${hint('--partition-size', 'partitionSize')}\n`);
    expect(result.stderr).toContain(`  - ${hint('--inventory-sha256', 'inventorySha256')} [batch_parameter_missing]`);
    expect(result.stderr).not.toContain('must match');
    expect(result.stderr).not.toContain('must be an integer');
  });

  it('names the inventory argument and a --run-id=Ref:: value', async () => {
    const result = await runCli(['process', 'Ref::inventory', '--run-id=Ref::runId', '--start', '1', '--end', '1'], { env, cwd: tmp.path });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(hint('--run-id', 'runId'));
    expect(result.stderr).toContain(hint('the inventory argument', 'inventory'));
  });

  it('reports a placeholder given to a choice option before yargs rejects it as an invalid choice', async () => {
    const result = await runCli(['chunk', inventory, '--mode', 'Ref::mode', '--dry-run'], { env, cwd: tmp.path });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`mass-ingest: Missing Batch parameter: ${hint('--mode', 'mode')} [batch_parameter_missing]\n`);
  });

  it('stops the report job before it opens a database', async () => {
    const result = await runCli(['report', '--run', 'Ref::runId', '--format', 'html', '--publish'], { env, cwd: tmp.path });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(hint('--run', 'runId'));
    await expect(fs.stat(path.join(tmp.path, 'db'))).rejects.toThrow(/ENOENT/);
  });
});

describe('findUnfilledParameters', () => {
  it('finds placeholders in options, repeated options and positionals, once per kebab-case option', () => {
    const argv = { _: ['process'], $0: 'mass-ingest', inventory: 'Ref::inventory', 'run-id': 'Ref::runId', runId: 'Ref::runId', workdir: ['a', 'Ref::workdir'], start: '1' };

    const unfilled = findUnfilledParameters(argv, ['inventory']);

    expect(unfilled).toEqual([
      { given: 'the inventory argument', parameter: 'inventory' },
      { given: '--run-id', parameter: 'runId' },
      { given: '--workdir', parameter: 'workdir' },
    ]);
  });

  it('leaves values that only contain Ref:: or name no parameter', () => {
    const argv = { _: ['process'], inventory: 's3://bucket/Ref::inventory', 'run-id': 'Ref::', layout: 'ref::layout' };

    const unfilled = findUnfilledParameters(argv, ['inventory']);

    expect(unfilled).toEqual([]);
  });
});
