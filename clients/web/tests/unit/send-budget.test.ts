import { describe, expect, it } from 'vitest';
import { readFrameLimits, SendBudget } from '../../src/lib/send-budget';

describe('SendBudget', () => {
  it('allows half the relay burst at once, then half its rate', () => {
    const budget = new SendBudget({ frameBurst: 60, framesPerSecond: 20 }, 0);

    const atOnce = Array.from({ length: 40 }, () => budget.take(0)).filter(Boolean).length;

    expect(atOnce).toBe(30);
    expect(budget.nextAt(0)).toBe(100);
    expect(budget.take(99)).toBe(false);
    expect(budget.take(100)).toBe(true);
  });

  it('never holds more than its burst, however long it waited', () => {
    const budget = new SendBudget({ frameBurst: 10, framesPerSecond: 10 }, 0);
    for (let i = 0; i < 5; i++) budget.take(0);

    const afterAnHour = Array.from({ length: 10 }, () => budget.take(3_600_000)).filter(Boolean).length;

    expect(afterAnHour).toBe(5);
  });

  it('starts full again with the limits of a new welcome', () => {
    const budget = new SendBudget({ frameBurst: 4, framesPerSecond: 2 }, 0);
    budget.take(0);
    budget.take(0);

    budget.setLimits({ frameBurst: 8, framesPerSecond: 2 }, 0);

    expect(Array.from({ length: 5 }, () => budget.take(0)).filter(Boolean).length).toBe(4);
  });

  it('sends nothing between a new connection and its welcome, however much was left from the old one', () => {
    const budget = new SendBudget({ frameBurst: 60, framesPerSecond: 20 }, 0);

    budget.empty(0);

    expect(budget.take(0)).toBe(false);
    budget.setLimits({ frameBurst: 60, framesPerSecond: 20 }, 10);
    expect(Array.from({ length: 40 }, () => budget.take(10)).filter(Boolean).length).toBe(30);
  });
});

describe('readFrameLimits', () => {
  it('reads the limits of a welcome and drops what makes no sense', () => {
    expect(readFrameLimits({ frameBurst: 60, framesPerSecond: 20 })).toEqual({ frameBurst: 60, framesPerSecond: 20 });
    expect(readFrameLimits({ frameBurst: 0, framesPerSecond: 20 })).toBeUndefined();
    expect(readFrameLimits({ frameBurst: 60 })).toBeUndefined();
    expect(readFrameLimits('60/20')).toBeUndefined();
    expect(readFrameLimits(undefined)).toBeUndefined();
  });
});
