/**
 * The environment a build starts from (DESIGN §5): our own settings and every credential are
 * removed; PATH, HOME, locale and the toolchains' variables stay.
 */
const REMOVED_PREFIXES = ['PUBLISH_', 'GITHUB_', 'AWS_', 'PG', 'GIT_', 'MASS_INGEST_', 'JOB_', 'NPM_TOKEN', 'NODE_AUTH_TOKEN'];
// SSH_AUTH_SOCK: the operator's ssh agent signs as the operator, so a build could push with it.
const REMOVED_NAMES = new Set(['DATABASE_URL', 'GIT_CREDENTIALS', 'PARTITION_SIZE', 'BUILD_TIMEOUT', 'BUILD_USER', 'REPORT_JOB_DEFINITION', 'ECS_CONTAINER_METADATA_URI', 'ECS_CONTAINER_METADATA_URI_V4', 'SSH_AUTH_SOCK']);

/**
 * What our own git (never a build) also takes from the environment: how to reach servers behind a
 * private CA or a TLS-intercepting proxy, when to give up on a stalled transfer, and how to run
 * ssh (a deploy key: `ssh -i /keys/deploy -o BatchMode=yes`, or the ssh agent). These are removed
 * from the build environment, and git ignores ~/.gitconfig here (src/git/git-client.ts).
 */
export const GIT_TRANSPORT = [
  'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'GIT_SSL_CERT', 'GIT_SSL_KEY', 'GIT_SSL_NO_VERIFY', 'GIT_PROXY_SSL_CAINFO',
  'GIT_HTTP_LOW_SPEED_LIMIT', 'GIT_HTTP_LOW_SPEED_TIME', 'GIT_SSH_COMMAND', 'SSH_AUTH_SOCK',
];

export function gitTransportEnvironment(env: Readonly<Record<string, string>>, secrets: readonly string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of GIT_TRANSPORT) {
    const value = env[name];
    if (value === undefined || holdsSecret(value, secrets)) continue;
    kept[name] = value;
  }
  return kept;
}

export function scrubBuildEnvironment(env: Readonly<Record<string, string>>, secrets: readonly string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (REMOVED_NAMES.has(name)) continue;
    if (REMOVED_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    if (holdsSecret(value, secrets)) continue;
    kept[name] = value;
  }
  return kept;
}

/** A value that carries a secret (a URL with a token, a copied password) stays out whatever its name. */
function holdsSecret(value: string, secrets: readonly string[]): boolean {
  return secrets.some((secret) => secret.length >= 4 && value.includes(secret));
}
