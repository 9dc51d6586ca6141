import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, type Podman } from './podman.js';

const execFileAsync = promisify(execFile);
const LOCAL_CA_DIR = '/usr/local/share/ca-certificates';

/** Builds (once, then cached in podman's storage) the debootstrap stand-in for node:20-bookworm-slim. */
export async function ensureBaseImage(podman: Podman): Promise<string> {
  const { stdout } = await execFileAsync('bash', ['scripts/container-base.sh'], { cwd: ROOT, env: podman.env, timeout: 900_000, killSignal: 'SIGKILL' });
  const name = stdout.trim().split('\n').at(-1);
  if (!name) throw new Error('scripts/container-base.sh printed no image name');
  return name;
}

/** The host's extra CA certificates as one PEM bundle (npm's registry sits behind them), or undefined. */
export async function writeCaBundle(dir: string): Promise<{ file: string; certificates: string[] } | undefined> {
  const names = (await fs.readdir(LOCAL_CA_DIR).catch(() => [] as string[])).filter((name) => name.endsWith('.crt')).sort();
  if (names.length === 0) return undefined;
  const certificates = await Promise.all(names.map((name) => fs.readFile(path.join(LOCAL_CA_DIR, name), 'utf8')));
  const file = path.join(dir, 'npm-ca.pem');
  await fs.writeFile(file, certificates.join('\n'), { mode: 0o600 });
  return { file, certificates };
}

export interface BuiltImage {
  name: string;
  /** Bytes the image adds to its base (podman's image sizes). */
  addedBytes: number;
  sizeBytes: number;
  baseBytes: number;
}

export interface ImageOptions {
  base: string;
  name: string;
  caBundle: string | undefined;
  /** The Dockerfile's build arguments (INSTALL_PYTHON: 'true', …); none: the default image. */
  buildArgs?: Readonly<Record<string, string>>;
}

/**
 * `podman build` of the Dockerfile with the repository as context. The build stage is tagged too,
 * so that pruning dangling images (older builds) keeps the npm ci layer cached for the next run.
 * The INSTALL_* arguments are declared in the runtime stage only: every image shares one build
 * stage (npm ci, tsc), and an image with toolchains adds only its apt layer and the copies.
 */
export async function buildImage(podman: Podman, options: ImageOptions): Promise<BuiltImage> {
  const common = ['build', '--pull=never', '--network=host', '--build-arg', `BASE_IMAGE=${options.base}`];
  for (const [name, value] of Object.entries(options.buildArgs ?? {})) common.push('--build-arg', `${name}=${value}`);
  if (options.caBundle) common.push('--secret', `id=npm_ca,src=${options.caBundle}`);
  for (const [target, tag] of [['build', `${options.name}-build`], ['runtime', options.name]] as const) {
    const result = await podman.run([...common, '--target', target, '-t', tag, '.'], { timeoutMs: 900_000 });
    if (result.code !== 0) throw new Error(`podman build --target ${target} exited with ${result.code ?? result.signal}:\n${`${result.stdout}\n${result.stderr}`.slice(-6000)}`);
  }
  await podman.run(['image', 'prune', '--force']);
  const size = async (image: string) => Number((await podman.ok(['image', 'inspect', '--format', '{{.Size}}', image])).trim());
  const [sizeBytes, baseBytes] = [await size(options.name), await size(options.base)];
  return { name: options.name, sizeBytes, baseBytes, addedBytes: sizeBytes - baseBytes };
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
