import { afterAll } from 'vitest';
import { killLeftRunning } from './cli.js';

// Every test file: a CLI one of its tests left running (it timed out on a hang) dies with the file.
afterAll(() => {
  const left = killLeftRunning();
  if (left > 0) console.warn(`test harness: killed ${left} mass-ingest process(es) a test of this file left running`);
});
