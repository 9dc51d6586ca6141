import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSdkNodeVersionWarning, withoutSdkNodeVersionWarning } from '../../src/batch/sdk-warning.js';

const DIST_CLIENT = path.resolve('dist/batch/batch-client.js');
const SDK_TEXT = 'NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)\nversions published after the first week of January 2027\nwill require node >=22.';

function constructInChild(script: string): { stderr: string; status: number | null } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' },
    encoding: 'utf8',
  });
  return { stderr: result.stderr, status: result.status };
}

describe('the AWS SDK Node version warning', () => {
  const warnings: unknown[] = [];
  const onWarning = (warning: unknown) => warnings.push(warning);

  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
  });

  it('is dropped while a client is constructed', async () => {
    process.on('warning', onWarning);

    withoutSdkNodeVersionWarning(() => process.emitWarning(SDK_TEXT));
    await new Promise((resolve) => setImmediate(resolve));

    expect(warnings).toEqual([]);
  });

  it('lets every other warning through, and the SDK warning too outside construction', async () => {
    process.on('warning', onWarning);

    withoutSdkNodeVersionWarning(() => process.emitWarning('something else', 'DeprecationWarning'));
    process.emitWarning(SDK_TEXT);
    await new Promise((resolve) => setImmediate(resolve));

    expect(warnings.map((w) => (w as Error).message)).toEqual(['something else', SDK_TEXT]);
  });

  it('recognises the SDK text, and only it', () => {
    expect(isSdkNodeVersionWarning(SDK_TEXT)).toBe(true);
    expect(isSdkNodeVersionWarning(new Error(SDK_TEXT))).toBe(true);
    expect(isSdkNodeVersionWarning('NodeDeprecationWarning: something')).toBe(false);
  });

  it('never reaches stderr when the Batch client is created on this Node version', () => {
    const config = JSON.stringify({ env: { AWS_REGION: 'eu-west-1' } });

    const ours = constructInChild(`const { createBatchApi } = await import(${JSON.stringify(DIST_CLIENT)}); createBatchApi(${config}).destroy();`);

    expect(ours).toEqual({ stderr: '', status: 0 });
  });

  it('would reach stderr from a bare client on Node < 22 (the check above means something)', () => {
    const bare = constructInChild("const { BatchClient } = await import('@aws-sdk/client-batch'); new BatchClient({ region: 'eu-west-1' }).destroy();");

    expect(bare.status).toBe(0);
    if (Number(process.versions.node.split('.')[0]) < 22) expect(bare.stderr).toContain('NodeVersionSupportWarning');
    else expect(bare.stderr).toBe('');
  });
});
