import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRoot, runCommand } from '../harness/process.js';
import { removeWorkspace } from '../../src/pipeline/workspace.js';
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

  it('removes a tree deeper than PATH_MAX, which a build can make and path-based removal cannot take', async () => {
    const workspace = join(tmp.path, 'row-2');
    await mkdir(workspace);
    // Made one directory at a time relative to the last (a shell's `cd` stops at PATH_MAX).
    await runCommand('perl', ['-e', 'chdir $ARGV[0] or die; for (1..300) { mkdir "d" x 20 or die; chdir "d" x 20 or die } open(F, ">file") or die; print F "x";', workspace]);

    const removed = await removeWorkspace(workspace);

    expect(removed).toBe(true);
    await expect(access(workspace)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);
});
