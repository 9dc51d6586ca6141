/**
 * Submodule URLs in ssh form on the clone's own host (`git@github.com:acme/lib.git`,
 * `ssh://git@github.com/acme/lib.git`) are fetched as the clone itself was, over http(s): an ssh
 * URL needs a key even for a public repository, and without the credentials (the default) ssh
 * offers none. git's `url.<base>.insteadOf`, added to the GIT_CONFIG_* entries of `env`.
 */
export function sameHostOverHttp(env: Readonly<Record<string, string>>, cloneUrl: string): Record<string, string> {
  let parsed: URL;
  try {
    parsed = new URL(cloneUrl);
  } catch {
    return { ...env };
  }
  if (!/^https?:$/.test(parsed.protocol)) return { ...env };
  const base = `${parsed.protocol}//${parsed.host}/`;
  return withConfig(env, [
    [`url.${base}.insteadOf`, `git@${parsed.hostname}:`],
    [`url.${base}.insteadOf`, `ssh://git@${parsed.hostname}/`],
  ]);
}

/**
 * Public hosting services that serve every repository at the same path over https as over ssh.
 * A repository on one of them may pin a submodule on another by its ssh URL.
 */
export const PUBLIC_FORGES = ['github.com', 'gitlab.com', 'bitbucket.org', 'codeberg.org'] as const;

/**
 * Submodule URLs in ssh form on the public forges fetched over https: fetched without the
 * credentials (the default), ssh offers no key and fails even for a public repository, where https
 * needs none. Only for that case: with credentials lent, an operator's ssh key may be what opens a
 * private submodule on another host.
 */
export function publicForgesOverHttps(env: Readonly<Record<string, string>>): Record<string, string> {
  return withConfig(
    env,
    PUBLIC_FORGES.flatMap((host) => [
      [`url.https://${host}/.insteadOf`, `git@${host}:`],
      [`url.https://${host}/.insteadOf`, `ssh://git@${host}/`],
    ]),
  );
}

/** `env` with `entries` appended to its GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n. */
function withConfig(env: Readonly<Record<string, string>>, entries: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const count = Number(env.GIT_CONFIG_COUNT ?? '0') || 0;
  const added: Record<string, string> = { GIT_CONFIG_COUNT: String(count + entries.length) };
  entries.forEach(([key, value], index) => {
    added[`GIT_CONFIG_KEY_${count + index}`] = key;
    added[`GIT_CONFIG_VALUE_${count + index}`] = value;
  });
  return { ...env, ...added };
}
