import { UsageError } from '../errors.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import { ChecksumSidecarStore } from './checksum-sidecars.js';
import { FileStore } from './file-store.js';
import { HttpStore } from './http-store.js';
import { DefaultLayout, type PublishLayout } from './layout.js';
import { MavenLayout } from './maven-layout.js';
import { REFUSALS_BEFORE_SKIPPING, RefusingTargetGuard } from './refusing-target.js';
import type { ArtifactStore } from './store.js';
import { TargetBreaker } from './target-breaker.js';

/**
 * The store for PUBLISH_URL (DESIGN §3). HTTP repositories get `.sha1/.md5/.sha256` sidecars
 * (plain servers have no other checksums), and so does every store under the maven layout.
 */
export async function createStore(config: Config, log?: Logger, signal?: AbortSignal): Promise<ArtifactStore> {
  const store = await createBareStore(config, log, signal);
  const sidecars = store instanceof HttpStore || config.publish.layout === 'maven';
  return sidecars ? new ChecksumSidecarStore(store) : store;
}

/**
 * `signal` (the processor's stop signal) abandons uploads in flight, so a terminated run ends
 * promptly. A network store gets the no-progress limit and a breaker that all the processor's
 * repositories share: once the target stops answering, the rest fail at once (DESIGN §8: when
 * every repository failed so, the exit code is 3 and Batch retries the partition later).
 */
async function createBareStore(config: Config, log: Logger | undefined, signal: AbortSignal | undefined): Promise<ArtifactStore> {
  const { publish } = config;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(publish.url)?.[1]?.toLowerCase() ?? 'file';
  const timeouts = { idleMs: publish.timeoutMs };
  const breaker = (target: string) => new TargetBreaker(scrubUrlSecrets(target), { threshold: publish.failFastAfter, cooldownMs: publish.failFastForMs }, log);
  switch (scheme) {
    case 'file':
      return new FileStore(publish.url);
    case 'http':
    case 'https':
      return new HttpStore({ url: publish.url, user: publish.user, password: publish.password, token: publish.token, log, timeouts, breaker: breaker(publish.url), ...(signal ? { signal } : {}) });
    case 's3': {
      // The AWS SDK costs ~0.25 s to load: only S3 targets pay for it.
      const { S3Store } = await import('./s3-store.js');
      return new S3Store({ url: publish.url, s3: config.s3, timeouts, breaker: breaker(publish.url), ...(signal ? { signal } : {}) });
    }
    default:
      throw new UsageError('publish_scheme', `PUBLISH_URL ${scrubUrlSecrets(publish.url)} has an unsupported scheme "${scheme}": use file://, http(s):// or s3://`);
  }
}

/**
 * The layout of PUBLISH_LAYOUT over `store`, watched for a target that refuses every repository
 * (./refusing-target.ts): PUBLISH_FAIL_FAST_AFTER=0 turns that off with the breaker.
 */
export function createLayout(config: Config, store: ArtifactStore, log?: Logger): PublishLayout {
  const layout = config.publish.layout === 'maven' ? new MavenLayout(store) : new DefaultLayout(store);
  return new RefusingTargetGuard(layout, config.publish.failFastAfter === 0 ? 0 : REFUSALS_BEFORE_SKIPPING, log);
}
