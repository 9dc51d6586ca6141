import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectArtifacts } from '../../src/artifacts/collect.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const IS_ROOT = process.getuid?.() === 0;

describe('collectArtifacts', () => {
  let tmp: TempDir;
  let dir: string;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-collect-');
    dir = path.join(tmp.path, 'src');
    await fs.mkdir(path.join(dir, 'dist'), { recursive: true });
    await fs.writeFile(path.join(dir, 'dist', 'app.jar'), 'jar');
    await fs.writeFile(path.join(tmp.path, 'secret.txt'), 'not an artifact');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  it('takes the files the globs match and no symbolic link, even to a file outside the clone', async () => {
    await fs.symlink(path.join(tmp.path, 'secret.txt'), path.join(dir, 'dist', 'leak.jar'));

    const artifacts = await collectArtifacts(dir, { artifacts: ['dist/*.jar'] });

    expect(artifacts.map((artifact) => artifact.name)).toEqual(['app.jar']);
  });

  it.skipIf(!IS_ROOT)('given an owner, leaves out a file of another owner, such as a hard link the build made to a file that is not its own', async () => {
    await fs.chown(path.join(tmp.path, 'secret.txt'), 48999, 48999);
    await fs.link(path.join(tmp.path, 'secret.txt'), path.join(dir, 'dist', 'leak.jar'));

    const owned = await collectArtifacts(dir, { artifacts: ['dist/*.jar'] }, 0);
    const any = await collectArtifacts(dir, { artifacts: ['dist/*.jar'] });

    expect(owned.map((artifact) => artifact.name)).toEqual(['app.jar']);
    expect(any.map((artifact) => artifact.name)).toEqual(['app.jar', 'leak.jar']);
  });

  it.skipIf(!IS_ROOT)('given an owner, leaves out a file in a directory others can write or another user owns, where it could be swapped for a link before it is published', async () => {
    await fs.mkdir(path.join(dir, 'open'));
    await fs.chmod(path.join(dir, 'open'), 0o777);
    await fs.writeFile(path.join(dir, 'open', 'open.jar'), 'jar');
    await fs.mkdir(path.join(dir, 'theirs'));
    await fs.writeFile(path.join(dir, 'theirs', 'theirs.jar'), 'jar');
    await fs.chown(path.join(dir, 'theirs'), 48213, 48213);

    const owned = await collectArtifacts(dir, { artifacts: ['*/*.jar'] }, 0);
    const any = await collectArtifacts(dir, { artifacts: ['*/*.jar'] });

    expect(owned.map((artifact) => artifact.name)).toEqual(['app.jar']);
    expect(any.map((artifact) => artifact.name)).toEqual(['app.jar', 'open.jar', 'theirs.jar']);
  });
});

