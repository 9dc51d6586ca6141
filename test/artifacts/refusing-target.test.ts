import { describe, expect, it } from 'vitest';
import { DefaultLayout, type PublishRequest } from '../../src/artifacts/layout.js';
import { statusError, tlsError } from '../../src/artifacts/publish-errors.js';
import { refusesEveryRepository, RefusingTargetGuard } from '../../src/artifacts/refusing-target.js';
import { StepError } from '../../src/errors.js';
import { MemoryStore } from '../fakes/memory-store.js';

const repository = (name: string) => ({ cloneUrl: `https://git.test/${name}.git`, branch: 'main', origin: 'git.test', path: name });
const SHA = 'a'.repeat(40);

function request(name: string): PublishRequest {
  // No artifacts: the build log is what gets written (a path that does not exist is never read: the store fails first).
  return { repository: repository(name), commitSha: SHA, builder: 'make', artifacts: [], logFile: '/dev/null', startedAt: new Date(0), runId: 'r1' };
}

/** A memory target whose writes fail with `failure` while it is set. */
function target(failure: () => Error | undefined) {
  const store = new MemoryStore();
  store.failOn = () => failure() !== undefined;
  return { store, layout: new DefaultLayout(store), setFailure: (err: Error) => (store.failure = err) };
}

describe('refusesEveryRepository', () => {
  it('is true for what every repository would get (TLS, 401, 404 on a write, a redirect, a web page) and false for what one path may get', () => {
    const refusals = [
      tlsError('PUT https://repo.test/a', 'DEPTH_ZERO_SELF_SIGNED_CERT', new Error('self-signed'), 'PUBLISH_URL'),
      statusError(401, 'PUT', 'https://repo.test/a'),
      statusError(404, 'PUT', 'https://repo.test/a'),
      statusError(302, 'PUT', 'https://repo.test/a'),
      new StepError('publish_not_a_repository', 'a web page'),
    ];
    const others = [
      statusError(403, 'PUT', 'https://repo.test/a'),
      statusError(413, 'PUT', 'https://repo.test/a'),
      statusError(409, 'PUT', 'https://repo.test/a'),
      statusError(503, 'PUT', 'https://repo.test/a'),
      new StepError('publish_unreachable', 'refused', { retryable: true }),
      new Error('not a step error'),
    ];

    expect(refusals.map(refusesEveryRepository)).toEqual([true, true, true, true, true]);
    expect(others.map(refusesEveryRepository)).toEqual([false, false, false, false, false, false]);
  });
});

describe('RefusingTargetGuard', () => {
  it('answers down() for the rest of the partition after 3 repositories in a row were refused, with the refusal code', async () => {
    let failing: Error | undefined = statusError(401, 'PUT', 'https://repo.test/a');
    const { layout, setFailure } = target(() => failing);
    setFailure(failing);
    const guard = new RefusingTargetGuard(layout, 3);

    for (const name of ['a', 'b']) await expect(guard.publish(request(name))).rejects.toMatchObject({ code: 'publish_auth' });
    expect(guard.down()).toBeUndefined();
    await expect(guard.publishLog(repository('c'), SHA, '/dev/null')).rejects.toMatchObject({ code: 'publish_auth' });
    failing = undefined; // fixed behind its back: the run does not look again

    expect(guard.down()).toMatchObject({ code: 'publish_auth', status: 401, retryable: false, message: expect.stringMatching(/^Not cloned or built: the publish target refused 3 repositories in a row .*answered HTTP 401/) });
  });

  it('starts counting again after a write the target accepted, and never skips with threshold 0', async () => {
    let failing: Error | undefined;
    const { layout, setFailure } = target(() => failing);
    setFailure(statusError(404, 'PUT', 'https://repo.test/a'));
    const refuse = () => (failing = statusError(404, 'PUT', 'https://repo.test/a'));
    const guard = new RefusingTargetGuard(layout, 3);
    const never = new RefusingTargetGuard(layout, 0);

    for (const name of ['a', 'b']) {
      refuse();
      await expect(guard.publish(request(name))).rejects.toMatchObject({ code: 'publish_not_found' });
    }
    failing = undefined;
    await guard.publish(request('c'));
    refuse();
    for (const name of ['d', 'e']) await expect(guard.publish(request(name))).rejects.toMatchObject({ code: 'publish_not_found' });
    for (const name of ['f', 'g', 'h', 'i']) await expect(never.publish(request(name))).rejects.toMatchObject({ code: 'publish_not_found' });

    expect(guard.down()).toBeUndefined();
    expect(never.down()).toBeUndefined();
  });

  it('counts a repository once however many of its requests were refused (the check\'s look at the target, then its own)', async () => {
    const store = new MemoryStore();
    store.read = async () => Promise.reject(tlsError('GET https://repo.test/m', 'DEPTH_ZERO_SELF_SIGNED_CERT', new Error('self-signed')));
    const guard = new RefusingTargetGuard(new DefaultLayout(store), 3);

    for (const name of ['a', 'a', 'b', 'b']) await expect(guard.isPublished(repository(name), SHA)).rejects.toMatchObject({ code: 'publish_tls' });
    const afterTwo = guard.down();
    await expect(guard.isPublished(repository('c'), SHA)).rejects.toMatchObject({ code: 'publish_tls' });

    expect(afterTwo).toBeUndefined();
    expect(guard.down()).toMatchObject({ code: 'publish_tls', message: expect.stringMatching(/^Not cloned or built: the publish target refused 3 repositories in a row /) });
  });

  it('does not count refusals one path may get (403), nor reads that succeed as accepted writes', async () => {
    let failing: Error | undefined = statusError(403, 'PUT', 'https://repo.test/a');
    const { layout, setFailure } = target(() => failing);
    setFailure(failing);
    const guard = new RefusingTargetGuard(layout, 2);

    for (const name of ['a', 'b', 'c']) await expect(guard.publish(request(name))).rejects.toMatchObject({ code: 'publish_auth', status: 403 });
    expect(guard.down()).toBeUndefined();

    failing = statusError(401, 'PUT', 'https://repo.test/a');
    setFailure(failing);
    await expect(guard.publish(request('d'))).rejects.toMatchObject({ status: 401 });
    expect(await guard.isPublished(repository('e'), SHA)).toBe(false);
    await expect(guard.publish(request('f'))).rejects.toMatchObject({ status: 401 });

    expect(guard.down()).toMatchObject({ code: 'publish_auth' });
  });
});
