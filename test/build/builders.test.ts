import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planBuild } from '../../src/build/builders.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const NO_ROW = { buildCommand: undefined, artifacts: undefined };

describe('planBuild', () => {
  let tmp: TempDir;
  let clone: string;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-builders-');
    clone = join(tmp.path, 'clone');
    await mkdir(clone);
  });
  afterEach(async () => {
    await tmp.remove();
  });

  const files = async (names: Record<string, string>) => {
    for (const [name, content] of Object.entries(names)) await writeFile(join(clone, name), content);
  };

  it('detects each builder by the files at the top of the clone', async () => {
    const cases: Array<[Record<string, string>, string | undefined]> = [
      [{ 'pom.xml': '<project/>' }, 'maven'],
      [{ 'build.gradle.kts': '' }, 'gradle'],
      [{ 'package.json': '{}' }, 'npm'],
      [{ 'Cargo.toml': '' }, 'cargo'],
      [{ 'go.mod': 'module x' }, 'go'],
      [{ 'pyproject.toml': '[project]\nname = "x"\nversion = "1"\n' }, 'python'],
      [{ 'pyproject.toml': '[build-system] # setuptools\nrequires = ["setuptools"]\n' }, 'python'],
      [{ 'setup.py': 'from setuptools import setup\nsetup()\n' }, 'python'],
      [{ GNUmakefile: 'all:' }, 'make'],
      [{ 'README.md': '# nothing to build' }, undefined],
    ];
    const detected: Array<string | undefined> = [];

    for (const [names] of cases) {
      clone = join(tmp.path, `clone-${detected.length}`);
      await mkdir(clone);
      await files(names);
      detected.push((await planBuild(clone, NO_ROW))?.builder);
    }

    expect(detected).toEqual(cases.map(([, builder]) => builder));
  });

  it('prefers maven to make, and the gradle wrapper to an installed gradle', async () => {
    await files({ 'pom.xml': '<project/>', Makefile: 'all:', gradlew: '#!/bin/sh', 'build.gradle': '' });

    const plan = await planBuild(clone, NO_ROW);

    expect(plan?.builder).toBe('maven');
  });

  it('builds a Python package as a wheel of its own, before make; a pyproject.toml of tool settings alone is no package', async () => {
    await files({ 'pyproject.toml': '[project]\nname = "x"\n', Makefile: 'all:' });
    const python = await planBuild(clone, NO_ROW);
    clone = join(tmp.path, 'tools-only');
    await mkdir(clone);
    await files({ 'pyproject.toml': '[tool.black]\nline-length = 100\n[tool.ruff.lint]\nselect = ["E"]\n', Makefile: 'all:' });
    const toolsOnly = await planBuild(clone, NO_ROW);

    expect(python).toMatchObject({ builder: 'python', command: 'python3 -m pip wheel --no-input --disable-pip-version-check --no-deps --wheel-dir .mass-ingest-out .', artifacts: ['.mass-ingest-out/*.whl'] });
    expect(toolsOnly?.builder).toBe('make');
  });

  it('runs the gradle wrapper when there is one', async () => {
    await files({ gradlew: '#!/bin/sh', 'build.gradle': '' });

    const plan = await planBuild(clone, NO_ROW);

    expect(plan?.command).toBe('sh ./gradlew --no-daemon -q assemble');
  });

  it('installs npm dependencies with npm ci when there is a lockfile, and skips installing without dependencies', async () => {
    await files({ 'package.json': '{"dependencies":{"left-pad":"1.3.0"}}', 'package-lock.json': '{}' });
    const withLock = await planBuild(clone, NO_ROW);
    clone = join(tmp.path, 'bare');
    await mkdir(clone);
    await files({ 'package.json': '{"name":"x"}' });
    const bare = await planBuild(clone, NO_ROW);

    expect(withLock?.command).toMatch(/^npm ci --no-audit --no-fund && /);
    expect(bare?.command).toMatch(/^true && npm run build --if-present && /);
  });

  it('plans an npm build for a package.json that is not JSON, or is null, so npm says what is wrong with it', async () => {
    await files({ 'package.json': '{ "name": "broken",' });
    const broken = await planBuild(clone, NO_ROW);
    clone = join(tmp.path, 'null');
    await mkdir(clone);
    await files({ 'package.json': 'null' });
    const nothing = await planBuild(clone, NO_ROW);

    expect(broken?.builder).toBe('npm');
    expect(broken?.command).toMatch(/^true && npm run build --if-present && /);
    expect(nothing?.builder).toBe('npm');
  });

  it('reads no package.json that is a link to a device or larger than any real one', async () => {
    await symlink('/dev/zero', join(clone, 'package.json'));
    const device = await planBuild(clone, NO_ROW);
    clone = join(tmp.path, 'huge');
    await mkdir(clone);
    await files({ 'package.json': JSON.stringify({ dependencies: { 'left-pad': '1.3.0' }, padding: 'x'.repeat(5 * 1024 * 1024) }) });
    const huge = await planBuild(clone, NO_ROW);

    expect(device?.command).toMatch(/^true && npm run build --if-present && /);
    expect(huge?.command).toMatch(/^true && npm run build --if-present && /);
  });

  it("lets the row's buildCommand and artifacts win over the detected builder", async () => {
    await files({ Makefile: 'all:' });

    const custom = await planBuild(clone, { buildCommand: './build.sh', artifacts: 'out/*.zip; docs/*.pdf' });
    const globsOnly = await planBuild(clone, { buildCommand: undefined, artifacts: 'release/*' });

    expect(custom).toMatchObject({ builder: 'custom', command: './build.sh', artifacts: ['out/*.zip', 'docs/*.pdf'] });
    expect(globsOnly).toMatchObject({ builder: 'make', command: 'make', artifacts: ['release/*'] });
  });

  it('builds with a buildCommand even where no build tool is detected', async () => {
    await files({ 'README.md': '' });

    const plan = await planBuild(clone, { buildCommand: 'tar czf out.tgz README.md', artifacts: 'out.tgz' });

    expect(plan).toMatchObject({ builder: 'custom', artifacts: ['out.tgz'] });
  });
});
