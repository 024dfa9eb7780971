import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/lib/backoff';

describe('backoffDelay', () => {
  const options = { initialMs: 500, maxMs: 30_000, jitter: 0.5 };

  it('doubles from the initial delay when the random part is at its top', () => {
    const delays = [0, 1, 2, 3].map((attempt) => backoffDelay(attempt, options, () => 1));
    expect(delays).toEqual([500, 1_000, 2_000, 4_000]);
  });

  it('never exceeds the cap however many attempts failed', () => {
    expect(backoffDelay(40, options, () => 1)).toBe(30_000);
  });

  it('spreads clients that failed together over the jitter share of the delay', () => {
    expect(backoffDelay(2, options, () => 0)).toBe(1_000);
    expect(backoffDelay(2, options, () => 0.5)).toBe(1_500);
  });

  it('waits exactly the exponential delay without jitter', () => {
    expect(backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: 0 }, () => 0.3)).toBe(800);
  });
});
