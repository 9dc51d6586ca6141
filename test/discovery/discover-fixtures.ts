import fs from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { openDatabase, type Database } from '../../src/results/database.js';
import type { FakeGithub } from '../fakes/github-graphql.js';
import type { FakeRepository } from '../fakes/github-population.js';
import { baseEnv, runCli, type CliResult } from '../harness/cli.js';

export interface CsvRow {
  cloneUrl: string;
  branch: string;
  origin: string;
  path: string;
  stars: number;
  pushedAt: string;
}

/** The environment of a discover run against the fake: its URL as GITHUB_API_URL, the embedded database in `dir`. */
export function discoverEnv(fake: FakeGithub, dir: string, tokens: string | undefined, extra: Record<string, string | undefined> = {}): Record<string, string> {
  return baseEnv({ GITHUB_API_URL: fake.url, GITHUB_TOKENS: tokens, MASS_INGEST_DATA_DIR: path.join(dir, 'db'), ...extra });
}

export function discover(args: string[], env: Record<string, string>, cwd: string): Promise<CliResult> {
  return runCli(['discover', ...args], { env, cwd });
}

export async function readCsv(file: string): Promise<CsvRow[]> {
  const [header, ...lines] = (await fs.readFile(file, 'utf8')).trimEnd().split('\n');
  if (header !== 'cloneUrl,branch,origin,path,stars,pushedAt') throw new Error(`unexpected header ${header}`);
  return lines.map((line) => {
    const [cloneUrl, branch, origin, repoPath, stars, pushedAt] = line.split(',') as [string, string, string, string, string, string];
    return { cloneUrl, branch, origin, path: repoPath, stars: Number(stars), pushedAt };
  });
}

/** What discover should find by default: no forks, no archived, no empty repositories. */
export function eligible(population: readonly FakeRepository[], keep: (repo: FakeRepository) => boolean = () => true): FakeRepository[] {
  return population.filter((repo) => !repo.isFork && !repo.isArchived && !repo.isEmpty && keep(repo));
}

/** Pages asked for in answered requests, as "query-or-login @ cursor": each must appear once. */
export function fetchedPages(fake: FakeGithub, from = 0, to = fake.requests.length): string[] {
  return fake.requests
    .slice(from, to)
    .filter((request) => request.outcome === 'ok')
    .flatMap((request) => request.calls.filter((call) => call.field !== 'rateLimit').map((call) => `${call.query ?? call.login} @ ${call.first === 0 ? 'count' : call.after}`));
}

export function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return values.filter((value) => (seen.has(value) ? true : (seen.add(value), false)));
}

/** Opens what a run wrote to: PostgreSQL when `databaseUrl` is given, else the embedded database under `dir`. */
export async function withDatabase<T>(dir: string, use: (db: Database) => Promise<T>, databaseUrl?: string): Promise<T> {
  const db = await openDatabase({ databaseUrl, dataDir: path.join(dir, 'db') }, pino({ level: 'silent' }));
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}
