/** The runtime's crash-restart schedule, against the doubling sequence written out. */
import assert from 'node:assert/strict';
import { CrashBackoff } from '../../extension/backoff';

describe('runtime crash backoff', () => {
  it('doubles from 1 s, caps at 30 s, and gives up after the last allowed restart', () => {
    const b = new CrashBackoff(7, 1000, 30_000, 60_000);
    b.started(0);
    const delays = Array.from({ length: 8 }, (_, i) => b.exited(1000 + i));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, undefined]);
  });

  it('starts over after a runtime stayed up a minute, or after a manual restart', () => {
    const b = new CrashBackoff(5);
    b.started(0);
    assert.equal(b.exited(10), 1000);
    b.started(20);
    assert.equal(b.exited(30), 2000);
    b.started(100);
    assert.equal(b.exited(100 + 60_000), 1000, 'stable for a minute: back to the first delay');
    b.started(100 + 61_000);
    assert.equal(b.exited(100 + 61_500), 2000, 'a quick exit after the restart keeps doubling');
    b.reset();
    b.started(200_000);
    assert.equal(b.exited(200_001), 1000);
  });
});
