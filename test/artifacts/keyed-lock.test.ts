import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../src/artifacts/keyed-lock.js';

/** A promise and the function that settles it, to hold work open from the test. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('KeyedLock', () => {
  it('runs work on one key one at a time, in the order asked, and work on another key meanwhile', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const first = gate();

    const a1 = lock.hold('a', async () => {
      events.push('a1 start');
      await first.opened;
      events.push('a1 end');
    });
    const a2 = lock.hold('a', async () => {
      events.push('a2');
    });
    await lock.hold('b', async () => {
      events.push('b');
    });
    first.open();
    await Promise.all([a1, a2]);

    expect(events).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
  });

  it('lets the next holder in after work that failed, passes the failure on and forgets idle keys', async () => {
    const lock = new KeyedLock();

    const failed = lock.hold('a', async () => {
      throw new Error('upload failed');
    });
    const next = lock.hold('a', async () => 'next ran');

    await expect(failed).rejects.toThrow('upload failed');
    expect(await next).toBe('next ran');
    expect(lock.size).toBe(0);
  });
});
