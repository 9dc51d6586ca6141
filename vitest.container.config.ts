import { defineConfig } from 'vitest/config';

/**
 * `npm run test:container`: builds the Dockerfile with rootful podman and runs the image
 * (test/container/). Kept out of `npm test`; .ci/run runs it after installing podman
 * (.ci/install-container.sh). The first run also builds the cached base image (a few minutes).
 */
export default defineConfig({
  test: {
    include: ['test/container/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 1_800_000,
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    reporters: ['default'],
  },
});
