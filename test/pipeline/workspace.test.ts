import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRoot, runCommand } from '../harness/process.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const MODULE = resolve(fileURLToPath(import.meta.url), '../../../dist/pipeline/workspace.js');

/** Runs removeWorkspace (built) as an unprivileged user: root ignores the permissions under test. */
async function removeAsUser(dir: string): Promise<string> {
  const script = `const { removeWorkspace } = await import(${JSON.stringify(MODULE)}); console.log(await removeWorkspace(${JSON.stringify(dir)}));`;
  const node = ['node', '--input-type=module', '-e', script];
  const [command, ...args] = isRoot() ? ['runuser', '-u', 'nobody', '--', ...node] : node;
  return (await runCommand(command!, args)).stdout.trim();
}

describe('removeWorkspace', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-workspace-');
    await chmod(tmp.path, 0o777);
  });
  afterEach(async () => {
    await tmp.remove();
  });

  it('removes a workspace whose build left directories without read, write or search permission', async () => {
    const workspace = join(tmp.path, 'row-1');
    await mkdir(join(workspace, 'src', 'locked', 'deeper'), { recursive: true });
    await mkdir(join(workspace, 'src', 'readonly'), { recursive: true });
    await writeFile(join(workspace, 'src', 'locked', 'deeper', 'file'), 'x');
    await writeFile(join(workspace, 'src', 'readonly', 'file'), 'x');
    if (isRoot()) await runCommand('chown', ['-R', 'nobody', workspace]);
    await runCommand('chmod', ['000', join(workspace, 'src', 'locked', 'deeper'), join(workspace, 'src', 'locked')]);
    await runCommand('chmod', ['555', join(workspace, 'src', 'readonly')]);

    const removed = await removeAsUser(workspace);

    expect(removed).toBe('true');
    await expect(access(workspace)).rejects.toThrow();
  });
});
