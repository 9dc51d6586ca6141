import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Small tmpfs file systems, to fill a disk on purpose. Mounting needs root (or CAP_SYS_ADMIN):
 * tests that need one skip where `canMountTmpfs` is false.
 */
export const canMountTmpfs: boolean = probe();

function probe(): boolean {
  if (process.platform !== 'linux') return false;
  const dir = mkdtempSync(join(tmpdir(), 'mass-ingest-tmpfs-probe-'));
  try {
    mountTmpfs(dir, '64k');
    unmountTmpfs(dir);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `size` (mount's syntax: `2m`) at `dir`, made first. */
export function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'ignore' });
}

/** Gives the tmpfs at `dir` another size, keeping what it holds: room freed at once. */
export function remountTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'ignore' });
}

/** Unmounts `dir`, lazily when something still has it open; never throws (for finally/afterAll). */
export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // Not mounted.
    }
  }
}
