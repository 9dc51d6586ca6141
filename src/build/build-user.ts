import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { StepError, UsageError, errorMessage } from '../errors.js';
import { BuildUserPool, buildUserSpecs } from './build-user-pool.js';

const execFileAsync = promisify(execFile);

/**
 * The unprivileged user builds run as (BUILD_USER), when the processor runs as root. A build is
 * the repository's own code: as the processor's user it could read the processor's environment
 * (`/proc/<pid>/environ`: GIT_CREDENTIALS, DATABASE_URL, PUBLISH_PASSWORD), the credential files
 * git uses, and write the processor's ~/.ssh. As another user it can do none of that.
 */
export interface BuildUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** HOME of the builds: the user's own when it can write there, else one in the work directory. */
  readonly home: string;
}

export interface BuildUserProbe {
  /** The processor's uid (process.getuid), for tests. */
  readonly currentUid?: number;
}

/**
 * Looks each build user up (the passwd database, through getent), makes the run's directory
 * (ours) searchable by others, and checks, as each user, that it can reach it: every directory
 * above must be searchable too. Exit 2 when a user cannot be used.
 */
export async function prepareBuildUsers(spec: string, workdir: string, runDir: string, probe: BuildUserProbe = {}): Promise<BuildUserPool> {
  const currentUid = probe.currentUid ?? process.getuid?.();
  if (currentUid !== 0) {
    throw new UsageError('build_user_needs_root', `BUILD_USER=${spec} needs the processor to run as root (it starts each build as that user); it runs as uid ${currentUid ?? 'unknown'}. Run it as root (docker run --user root, or the job definition's user), or unset BUILD_USER`);
  }
  const specs = buildUserSpecs(spec);
  if (!specs) throw new UsageError('build_user_unknown', `BUILD_USER=${spec} names no user: give a name, a uid, uid:gid, or several (a,b or a uid range 10001-10004)`);
  const entries: PasswdEntry[] = [];
  for (const one of specs) entries.push(await lookUp(one));
  const root = entries.find((entry) => entry.uid === 0);
  if (root) throw new UsageError('build_user_is_root', `BUILD_USER=${spec} names root (uid 0): name unprivileged users only, e.g. nobody or node`);
  const repeated = entries.find((entry, index) => entries.findIndex((other) => other.uid === entry.uid) !== index);
  if (repeated) throw new UsageError('build_user_repeated', `BUILD_USER=${spec} names uid ${repeated.uid} twice: each concurrent build needs a user of its own`);
  await assertOnlyOurs(workdir);
  const { mode } = await fs.stat(runDir);
  await fs.chmod(runDir, (mode & 0o7777) | 0o011);
  const users: BuildUser[] = [];
  for (const entry of entries) users.push(await usableUser(entry, workdir, runDir));
  return new BuildUserPool(users);
}

async function usableUser(entry: PasswdEntry, workdir: string, runDir: string): Promise<BuildUser> {
  const reachable = await runAs(entry, ['test', '-d', runDir, '-a', '-x', runDir]);
  if (!reachable) {
    throw new UsageError('build_user_no_access', `BUILD_USER ${entry.name} (uid ${entry.uid}) cannot reach the work directory ${runDir}: every directory above it must be searchable by that user (chmod o+x), or choose another --workdir`);
  }
  const ownHome = entry.home !== undefined && (await runAs(entry, ['test', '-d', entry.home, '-a', '-w', entry.home]));
  const home = ownHome && entry.home ? entry.home : await workdirHome(workdir, entry);
  return { name: entry.name, uid: entry.uid, gid: entry.gid, home };
}

/**
 * The work directory and every directory above it are root's and writable by no one else (a
 * sticky one, /tmp, excepted): in a directory a build (or anyone) can write, it could rename the
 * run's directory away and put its own in its place, and the processor would read build.log and
 * artifacts, and remove the workspace, through paths it chose, deleting through its links.
 */
async function assertOnlyOurs(workdir: string): Promise<void> {
  const real = await fs.realpath(workdir);
  for (let dir = real; ; dir = path.dirname(dir)) {
    const stat = await fs.lstat(dir);
    const writable = (stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0;
    if (stat.uid !== 0 || writable) {
      const why = stat.uid !== 0 ? `is owned by uid ${stat.uid}` : 'is writable by group or others';
      throw new UsageError('build_user_workdir_unsafe', `BUILD_USER needs a work directory only root can change: ${dir} ${why} (a build could replace what the processor reads and removes there); use a directory of root's (chown root, chmod go-w), or another --workdir`);
    }
    if (dir === path.dirname(dir)) return;
  }
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string | undefined;
}

async function lookUp(spec: string): Promise<PasswdEntry> {
  const [user, group] = spec.split(':');
  const found = await execFileAsync('getent', ['passwd', user ?? spec]).then(
    ({ stdout }) => stdout.split('\n')[0]?.split(':'),
    () => undefined,
  );
  if (found && found.length >= 7) {
    const [name = spec, , uid = '', gid = '', , home = ''] = found;
    return { name, uid: Number(uid), gid: group === undefined ? Number(gid) : Number(group), home: home || undefined };
  }
  // A bare uid (uid:gid) without a passwd entry is usable: containers often run such ids.
  if (/^\d+$/.test(user ?? '')) return { name: user ?? spec, uid: Number(user), gid: Number(group ?? user), home: undefined };
  throw new UsageError('build_user_unknown', `BUILD_USER=${spec}: no such user on this machine (getent passwd ${user ?? spec} found nothing); create it, or give a uid`);
}

/** `<workdir>/.build-home-<uid>`, owned by the user; anything else of that name is replaced. */
async function workdirHome(workdir: string, user: PasswdEntry): Promise<string> {
  const home = path.join(workdir, `.build-home-${user.uid}`);
  const theirs = async () => {
    const stat = await fs.lstat(home).catch(() => undefined);
    return stat !== undefined && stat.isDirectory() && stat.uid === user.uid;
  };
  if (await theirs()) return home;
  await fs.rm(home, { recursive: true, force: true });
  // A processor starting beside this one (chunk --local) may make it at the same moment.
  await fs.mkdir(home, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await fs.lchown(home, user.uid, user.gid);
  if (!(await theirs())) throw new UsageError('build_user_no_home', `The build home ${home} is not a directory of BUILD_USER ${user.name} (uid ${user.uid}); remove it and run again`);
  return home;
}

/** True when `command` exits 0 run as `user` (no shell, no environment). */
async function runAs(user: Pick<PasswdEntry, 'uid' | 'gid'>, [command = 'true', ...args]: readonly string[]): Promise<boolean> {
  const child = spawn(command, args, { uid: user.uid, gid: user.gid, env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore', cwd: '/' });
  const [code] = (await once(child, 'exit').catch(() => [1])) as [number | null];
  return code === 0;
}

/**
 * The clone becomes the build user's before the build, and the processor's again after it:
 * whatever the build left running can change nothing once the artifacts are read. Symbolic
 * links are changed themselves, never what they point to (`-h`), and never followed (`-P`).
 */
export async function handOver(dir: string, user: Pick<BuildUser, 'uid' | 'gid'>): Promise<void> {
  await changeOwner(dir, `${user.uid}:${user.gid}`);
}

/**
 * Only what the build user owns: a hard link the build made to someone else's file keeps its owner
 * (and is no artifact: collect). Then no directory stays the build user's to change, by its owner
 * or its mode (closeDirectories).
 */
export async function takeBack(dir: string, user: Pick<BuildUser, 'uid'>): Promise<void> {
  await changeOwner(dir, `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`, [`--from=${user.uid}`]);
  await closeDirectories(dir, user);
}

/**
 * What a build left running could still change in a directory after `chown -R`: one it left
 * `chmod 777`, or one it made while chown ran (chown reads a directory once and changes it last),
 * which stays its own. There it could swap an artifact for a link to the credentials between
 * collect and publish, or a directory for a link while the processor removes the clone, which
 * then deletes through it. So, top down, each directory reached through ones already closed is
 * opened without following a link, made the processor's if it is the build user's, and
 * unwritable by group and others, then read. Files keep their owner: one still the build user's
 * is no artifact (collect), and removing it follows nothing.
 */
export async function closeDirectories(dir: string, user: Pick<BuildUser, 'uid'>): Promise<void> {
  const uid = process.getuid?.() ?? 0;
  // The path is stable (its parent is closed): the handle is only opened when there is something to change.
  const seen = await fs.lstat(dir).catch(notGone);
  if (!seen?.isDirectory() || (seen.uid !== uid && seen.uid !== user.uid)) return;
  if (seen.uid === user.uid || seen.mode & 0o022) {
    const handle = await fs.open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW).catch(notGone);
    if (!handle) return;
    try {
      const stat = await handle.stat();
      if (stat.ino !== seen.ino || stat.dev !== seen.dev) throw new StepError('build_user_chown', `A directory of the clone changed while it was taken back: ${dir}`);
      if (stat.uid === user.uid) await handle.chown(uid, process.getgid?.() ?? 0);
      if (stat.mode & 0o022) await handle.chmod(stat.mode & 0o7755);
    } finally {
      await handle.close();
    }
  }
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(notGone);
  // One at a time: a build can leave tens of thousands of directories, and open files are shared.
  for (const entry of entries ?? []) {
    if (entry.isDirectory()) await closeDirectories(path.join(dir, entry.name), user);
  }
}

/** Gone is fine; any other failure (a path too long, no file descriptor left) fails the build rather than leaving a directory open. */
function notGone(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT') return undefined;
  throw new StepError('build_user_chown', `Could not take back a directory of the clone (${err.code ?? 'error'}): ${errorMessage(err)}`, { cause: err });
}

async function changeOwner(dir: string, owner: string, only: readonly string[] = []): Promise<void> {
  try {
    await execFileAsync('chown', ['-R', '-h', '-P', ...only, owner, '--', dir], { maxBuffer: 1024 * 1024 });
  } catch (err) {
    throw new StepError('build_user_chown', `Could not change the owner of the clone to ${owner} (chown -R): ${errorMessage(err)}`, { cause: err });
  }
}

/** HOME, USER and LOGNAME of a build run as `user`. */
export function buildUserEnvironment(user: BuildUser): Record<string, string> {
  return { HOME: user.home, USER: user.name, LOGNAME: user.name };
}
