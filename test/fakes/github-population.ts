/**
 * A deterministic synthetic GitHub: repositories with heavy-tailed stars (most have 0 or 1, a
 * few have hundreds of thousands), creation dates that grow over the years like GitHub's, and
 * some forks, archived and empty repositories. The same seed gives the same population.
 */
export interface FakeRepository {
  readonly id: number;
  readonly owner: string;
  readonly name: string;
  readonly nameWithOwner: string;
  readonly url: string;
  stars: number;
  /** Epoch seconds. */
  readonly createdAt: number;
  readonly pushedAt: number;
  readonly language: string;
  readonly isFork: boolean;
  readonly isArchived: boolean;
  readonly isEmpty: boolean;
  readonly defaultBranch: string | null;
}

export interface OwnerSpec {
  readonly login: string;
  readonly type: 'organization' | 'user';
  readonly repositories: number;
}

export interface PopulationOptions {
  readonly size: number;
  readonly seed?: number;
  /** Named owners whose repositories come first; the rest belong to generated users. */
  readonly owners?: readonly OwnerSpec[];
  readonly host?: string;
  /** Power-law exponent of the star counts: smaller = heavier tail. */
  readonly alpha?: number;
}

export const POPULATION_START = Date.UTC(2008, 1, 1) / 1000;
export const POPULATION_END = Date.UTC(2025, 11, 31) / 1000;
const LANGUAGES: ReadonlyArray<[string, number]> = [
  ['JavaScript', 20], ['Python', 18], ['Java', 12], ['TypeScript', 10], ['Go', 8], ['C++', 7], ['Ruby', 6], ['PHP', 6], ['C#', 6], ['Rust', 4], ['Jupyter Notebook', 3],
];

export function generatePopulation(options: PopulationOptions): FakeRepository[] {
  const random = mulberry32(options.seed ?? 1);
  const host = options.host ?? 'github.com';
  const alpha = options.alpha ?? 0.9;
  const owners = [...(options.owners ?? [])].flatMap((owner) => Array.from({ length: owner.repositories }, () => owner.login));
  const generatedUsers = Math.max(1, Math.floor(options.size / 15));
  const repositories: FakeRepository[] = [];
  for (let id = 1; id <= options.size; id++) {
    const owner = owners[id - 1] ?? `user${Math.floor(random() * generatedUsers)}`;
    const name = `repo-${id}`;
    const createdAt = createdTime(random());
    const isEmpty = random() < 0.02;
    repositories.push({
      id,
      owner,
      name,
      nameWithOwner: `${owner}/${name}`,
      url: `https://${host}/${owner}/${name}`,
      stars: Math.min(500_000, Math.floor((1 - random()) ** (-1 / alpha)) - 1),
      createdAt,
      pushedAt: Math.round(createdAt + (POPULATION_END - createdAt) * Math.sqrt(random())),
      language: pick(LANGUAGES, random()),
      isFork: random() < 0.08,
      isArchived: random() < 0.05,
      isEmpty,
      defaultBranch: isEmpty ? null : random() < 0.7 ? 'main' : 'master',
    });
  }
  return repositories;
}

/** Creation rate grows about e³ ≈ 20 times over the span, like GitHub's sign-ups. */
function createdTime(u: number): number {
  const k = 3;
  const share = Math.log(1 + u * (Math.exp(k) - 1)) / k;
  return Math.floor(POPULATION_START + share * (POPULATION_END - POPULATION_START));
}

function pick(weights: ReadonlyArray<[string, number]>, u: number): string {
  const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
  let left = u * total;
  for (const [value, weight] of weights) {
    left -= weight;
    if (left < 0) return value;
  }
  return (weights[0] as [string, number])[0];
}

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
