import fs from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { StepError } from '../errors.js';
import type { BuildPlan } from '../build/builders.js';

export interface CollectedArtifact {
  readonly name: string;
  readonly file: string;
  readonly size: number;
}

/**
 * Files matching the plan's globs, published under their base names (DESIGN §5). Symlinks
 * are not followed and nothing outside the clone is taken, whatever the repository contains;
 * with `owner`, only files of that owner are, in directories of that owner nobody else can write.
 */
export async function collectArtifacts(dir: string, plan: Pick<BuildPlan, 'artifacts' | 'accept'>, owner?: number): Promise<CollectedArtifact[]> {
  const matches = plan.artifacts.length === 0 ? [] : await glob([...plan.artifacts], { cwd: dir, onlyFiles: true, followSymbolicLinks: false, dot: false, absolute: false });
  const root = await fs.realpath(dir);
  const byName = new Map<string, CollectedArtifact>();
  for (const relative of matches.sort()) {
    const file = path.join(dir, relative);
    if (owner !== undefined && !(await settled(dir, relative, owner))) continue;
    // A name that is not UTF-8 reaches us decoded, and names no file: it cannot be published either.
    const stat = await fs.lstat(file).catch(() => undefined);
    if (!stat?.isFile()) continue;
    // Given an owner (a build run as BUILD_USER), a file of another owner is a hard link to a file that is not the build's.
    if (owner !== undefined && stat.uid !== owner) continue;
    const real = await fs.realpath(file).catch(() => '');
    if (!real.startsWith(root + path.sep)) continue;
    if (plan.accept && !plan.accept(relative, stat.mode)) continue;
    const name = path.basename(relative);
    const clash = byName.get(name);
    if (clash) {
      throw new StepError('artifact_name_clash', `Two artifacts share the name "${name}": ${path.relative(dir, clash.file)} and ${relative}; narrow the artifacts glob`);
    }
    byName.set(name, { name, file, size: stat.size });
  }
  if (byName.size === 0) {
    throw new StepError('no_artifacts', `The build produced no file matching ${plan.artifacts.join(', ') || '(no artifact paths)'}; set the row's artifacts column`);
  }
  return [...byName.values()];
}

/**
 * Every directory from the clone down to the file is the owner's and writable by no one else
 * (src/build/build-user.ts takeBack), checked top down: nothing the build left running can then
 * swap the file for a link to a secret before it is published.
 */
async function settled(dir: string, relative: string, owner: number): Promise<boolean> {
  let current = dir;
  for (const part of ['.', ...path.dirname(relative).split('/')]) {
    current = path.join(current, part);
    const stat = await fs.lstat(current).catch(() => undefined);
    if (!stat?.isDirectory() || stat.uid !== owner || (stat.mode & 0o022) !== 0) return false;
  }
  return true;
}
