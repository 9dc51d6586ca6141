/**
 * The environment a build starts from (DESIGN §5): our own settings and every credential are
 * removed; PATH, HOME, locale and the toolchains' variables stay.
 */
const REMOVED_PREFIXES = ['PUBLISH_', 'GITHUB_', 'AWS_', 'PG', 'GIT_', 'MASS_INGEST_', 'JOB_', 'NPM_TOKEN', 'NODE_AUTH_TOKEN'];
const REMOVED_NAMES = new Set(['DATABASE_URL', 'GIT_CREDENTIALS', 'PARTITION_SIZE', 'BUILD_TIMEOUT', 'REPORT_JOB_DEFINITION', 'ECS_CONTAINER_METADATA_URI', 'ECS_CONTAINER_METADATA_URI_V4']);

export function scrubBuildEnvironment(env: Readonly<Record<string, string>>, secrets: readonly string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (REMOVED_NAMES.has(name)) continue;
    if (REMOVED_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    if (secrets.some((secret) => secret.length >= 4 && value.includes(secret))) continue;
    kept[name] = value;
  }
  return kept;
}
