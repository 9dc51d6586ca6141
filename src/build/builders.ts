import fs from 'node:fs/promises';
import path from 'node:path';

export type BuilderName = 'maven' | 'gradle' | 'npm' | 'cargo' | 'go' | 'python' | 'make' | 'custom';

export interface BuildPlan {
  readonly builder: BuilderName;
  /** A shell command run with `sh -c` in the clone. */
  readonly command: string;
  /** Globs relative to the clone, files only. */
  readonly artifacts: readonly string[];
  /** Extra filter on matched files (cargo: executables and libraries only). */
  readonly accept?: (file: string, mode: number) => boolean;
}

/** Where each builder's output lands (DESIGN §5), and the command that makes it. */
const OUT = '.mass-ingest-out';

async function npmCommand(dir: string): Promise<string> {
  // A package.json that is not JSON still builds with npm, which then says what is wrong with it.
  const manifest = parseObject(await readManifest(path.join(dir, 'package.json')));
  const hasDependencies = ['dependencies', 'devDependencies', 'optionalDependencies'].some(
    (key) => manifest[key] && Object.keys(manifest[key] as object).length > 0,
  );
  const install = (await fs.access(path.join(dir, 'package-lock.json')).then(() => true, () => false)) ? 'npm ci --no-audit --no-fund' : hasDependencies ? 'npm install --no-audit --no-fund' : 'true';
  return `${install} && npm run build --if-present && mkdir -p ${OUT} && npm pack --pack-destination ${OUT}`;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A clone's package.json may be a link to /dev/zero, a pipe or a huge file: only a regular file of a sane size is read. */
async function readManifest(file: string, otherwise = '{}'): Promise<string> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat?.isFile() || stat.size > MAX_MANIFEST_BYTES) return otherwise;
  return fs.readFile(file, 'utf8').catch(() => otherwise);
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const EXECUTABLE_OR_LIBRARY = (file: string, mode: number) => (mode & 0o111) !== 0 || /\.(rlib|so|a|dylib)$/.test(file);

/** Each builder by the files at the top of the clone (one directory listing: `has`), in order. */
const DETECTORS: ReadonlyArray<(dir: string, has: (name: string) => boolean) => BuildPlan | Promise<BuildPlan | undefined> | undefined> = [
  (_dir, has) => (has('pom.xml') ? { builder: 'maven', command: 'mvn -B -q -DskipTests package', artifacts: ['target/*.jar', 'target/*.war'] } : undefined),
  (_dir, has) => {
    if (has('gradlew')) return { builder: 'gradle', command: 'sh ./gradlew --no-daemon -q assemble', artifacts: ['build/libs/*.jar', '*/build/libs/*.jar'] };
    if (has('build.gradle') || has('build.gradle.kts')) {
      return { builder: 'gradle', command: 'gradle --no-daemon -q assemble', artifacts: ['build/libs/*.jar', '*/build/libs/*.jar'] };
    }
    return undefined;
  },
  async (dir, has) => (has('package.json') ? { builder: 'npm', command: await npmCommand(dir), artifacts: [`${OUT}/*.tgz`] } : undefined),
  (_dir, has) => (has('Cargo.toml') ? { builder: 'cargo', command: 'cargo build --release --quiet', artifacts: ['target/release/*'], accept: EXECUTABLE_OR_LIBRARY } : undefined),
  (_dir, has) => (has('go.mod') ? { builder: 'go', command: `mkdir -p ${OUT} && go build -o ${OUT}/ ./...`, artifacts: [`${OUT}/*`] } : undefined),
  async (dir, has) => ((has('setup.py') || (has('pyproject.toml') && (await isPythonPackage(path.join(dir, 'pyproject.toml'))))) ? PYTHON : undefined),
  (_dir, has) => (has('Makefile') || has('makefile') || has('GNUmakefile') ? { builder: 'make', command: 'make', artifacts: ['dist/*', 'build/*', 'out/*', 'bin/*'] } : undefined),
];

/**
 * A wheel of the project itself (PEP 517: pip installs its build backend, isolated, from the
 * index it is given; PIP_INDEX_URL and the like pass through the build's environment).
 */
const PYTHON: BuildPlan = {
  builder: 'python',
  command: `python3 -m pip wheel --no-input --disable-pip-version-check --no-deps --wheel-dir ${OUT} .`,
  artifacts: [`${OUT}/*.whl`],
};

/** A pyproject.toml that only configures tools (black, ruff, pytest) is no package: it needs a [project] or [build-system] table. */
async function isPythonPackage(file: string): Promise<boolean> {
  return /^\s*\[(project|build-system)\]\s*(#.*)?$/m.test(await readManifest(file, ''));
}

/**
 * The builder for a clone: the row's `buildCommand` wins (DESIGN §5), its `artifacts` glob wins
 * over the builder's default paths. `undefined` means no build tool.
 */
export async function planBuild(dir: string, row: { buildCommand: string | undefined; artifacts: string | undefined }): Promise<BuildPlan | undefined> {
  const names = new Set(await fs.readdir(dir));
  const has = (name: string) => names.has(name);
  let detected: BuildPlan | undefined;
  for (const detect of DETECTORS) {
    detected = await detect(dir, has);
    if (detected) break;
  }
  const globs = row.artifacts ? splitGlobs(row.artifacts) : undefined;
  if (row.buildCommand) {
    return { builder: 'custom', command: row.buildCommand, artifacts: globs ?? detected?.artifacts ?? [], accept: globs ? undefined : detected?.accept };
  }
  if (!detected) return undefined;
  return globs ? { ...detected, artifacts: globs, accept: undefined } : detected;
}

function splitGlobs(value: string): string[] {
  return value
    .split(/[;,]/)
    .map((glob) => glob.trim())
    .filter(Boolean);
}
