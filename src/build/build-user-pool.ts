import type { BuildUser } from './build-user.js';

/** `name`, `uid` or `uid:gid`: one user as BUILD_USER names it. */
const BUILD_USER_PATTERN = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|\d{1,10}(?::\d{1,10})?)$/;
const UID_RANGE = /^(\d{1,10})-(\d{1,10})$/;
/** More users than concurrent builds anyone runs: a range is a typing slip past this. */
const MOST_BUILD_USERS = 256;

/**
 * The users BUILD_USER names: one, or several for concurrent builds (each build runs as a user no
 * other build is running as): `a,b`, a uid range `10001-10004`, or both. Undefined when it is
 * none of these.
 */
export function buildUserSpecs(spec: string): string[] | undefined {
  const specs = spec.split(',').map((part) => part.trim()).flatMap((part): string[] | [undefined] => {
    const range = UID_RANGE.exec(part);
    if (!range) return BUILD_USER_PATTERN.test(part) ? [part] : [undefined];
    const [first, last] = [Number(range[1]), Number(range[2])];
    if (last < first || last - first >= MOST_BUILD_USERS) return [undefined];
    return Array.from({ length: last - first + 1 }, (_, index) => String(first + index));
  });
  if (specs.length === 0 || specs.length > MOST_BUILD_USERS || specs.some((part) => part === undefined)) return undefined;
  return specs as string[];
}

/**
 * The build users, handed out one per running build. With one user every build runs as it (they
 * share it, and can change each other's clones); with several, a build takes one no other build
 * holds, and waits for one when all are taken.
 */
export class BuildUserPool {
  private readonly free: BuildUser[];
  private readonly waiting: Array<(user: BuildUser) => void> = [];

  constructor(readonly users: readonly BuildUser[]) {
    this.free = [...users];
  }

  get shared(): boolean {
    return this.users.length === 1;
  }

  async acquire(): Promise<BuildUser> {
    if (this.shared) return this.users[0] as BuildUser;
    const user = this.free.shift();
    if (user) return user;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Runs `work` as a user no other build holds (waiting for one), and gives the user back after it. */
  async withUser<T>(work: (user: BuildUser) => Promise<T>): Promise<T> {
    const user = await this.acquire();
    try {
      return await work(user);
    } finally {
      this.release(user);
    }
  }

  release(user: BuildUser): void {
    if (this.shared) return;
    const next = this.waiting.shift();
    if (next) next(user);
    else this.free.push(user);
  }
}
