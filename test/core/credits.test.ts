import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { latestRefillBoundary, refillDue, withRefill, type CreditState } from '../../src/core/credits.ts';

const at = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);

describe('latestRefillBoundary', () => {
  it('daily: the UTC midnight that began today', () => {
    assert.equal(latestRefillBoundary(null, at(2030, 3, 5, 17, 45)), at(2030, 3, 5));
    assert.equal(latestRefillBoundary(null, at(2030, 3, 5)), at(2030, 3, 5));
  });

  it('monthly: this month once the day has come, else last month', () => {
    assert.equal(latestRefillBoundary(15, at(2030, 3, 20)), at(2030, 3, 15));
    assert.equal(latestRefillBoundary(15, at(2030, 3, 15)), at(2030, 3, 15));
    assert.equal(latestRefillBoundary(15, at(2030, 3, 14, 23, 59)), at(2030, 2, 15));
  });

  it('monthly on day 31 falls on the last day of shorter months', () => {
    assert.equal(latestRefillBoundary(31, at(2030, 4, 30, 12)), at(2030, 4, 30));
    assert.equal(latestRefillBoundary(31, at(2030, 4, 29)), at(2030, 3, 31));
    assert.equal(latestRefillBoundary(31, at(2030, 2, 28, 1)), at(2030, 2, 28));
    assert.equal(latestRefillBoundary(30, at(2030, 3, 1)), at(2030, 2, 28));
  });

  it('leap years: February 29 in 2032 and 2000, never in 2100', () => {
    assert.equal(latestRefillBoundary(31, at(2032, 2, 28, 23)), at(2032, 1, 31));
    assert.equal(latestRefillBoundary(31, at(2032, 2, 29, 0)), at(2032, 2, 29));
    assert.equal(latestRefillBoundary(29, at(2032, 2, 29, 5)), at(2032, 2, 29));
    assert.equal(latestRefillBoundary(30, at(2000, 3, 1)), at(2000, 2, 29));
    assert.equal(latestRefillBoundary(29, at(2100, 2, 28, 3)), at(2100, 2, 28));
  });

  it('crosses the year backwards in January', () => {
    assert.equal(latestRefillBoundary(10, at(2031, 1, 9)), at(2030, 12, 10));
  });

  it('is never after now, and no later boundary lies between it and now', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: at(1990, 1, 1), max: at(2090, 1, 1) }),
        fc.option(fc.integer({ min: 1, max: 31 }), { nil: null }),
        (now, day) => {
          const b = latestRefillBoundary(day, now);
          assert.ok(b <= now);
          assert.equal(b % 86_400_000, 0);
          // The boundary a moment later is the same one until the next boundary is reached.
          const next = latestRefillBoundary(day, b + 1);
          assert.equal(next, b);
          assert.ok(now - b <= 31 * 86_400_000);
        },
      ),
    );
  });
});

describe('withRefill', () => {
  const monthly = (remaining: number, lastRefillAt: number): CreditState => ({
    remaining,
    refill: { amount: 100, refillDay: 31 },
    lastRefillAt,
  });

  it('refills once per boundary, however late it is read', () => {
    const created = at(2030, 1, 15, 10);
    const state = monthly(3, created);
    assert.equal(refillDue(state, at(2030, 1, 30)), false);
    const refilled = withRefill(state, at(2030, 1, 31, 8));
    assert.deepEqual(refilled, { ...state, remaining: 100, lastRefillAt: at(2030, 1, 31) });
    // Reading again after spending, still in the same period: no second refill.
    assert.equal(refillDue({ ...refilled, remaining: 40 }, at(2030, 2, 27)), false);
    // February 2030 has 28 days.
    assert.equal(withRefill({ ...refilled, remaining: 40 }, at(2030, 2, 28, 0)).remaining, 100);
  });

  it('after downtime across many boundaries it refills once, to the amount', () => {
    const state = monthly(0, at(2030, 1, 31));
    const after = withRefill(state, at(2030, 7, 2));
    assert.equal(after.remaining, 100);
    assert.equal(after.lastRefillAt, at(2030, 6, 30));
  });

  it('never lowers a balance above the amount, and leaves unlimited keys alone', () => {
    assert.equal(withRefill(monthly(500, at(2030, 1, 1)), at(2030, 3, 1)).remaining, 500);
    const unlimited: CreditState = { remaining: null, refill: null, lastRefillAt: null };
    assert.equal(withRefill(unlimited, at(2030, 3, 1)), unlimited);
  });

  it('daily refills happen at each UTC midnight', () => {
    const state: CreditState = { remaining: 1, refill: { amount: 10, refillDay: null }, lastRefillAt: at(2030, 5, 5, 13) };
    assert.equal(withRefill(state, at(2030, 5, 5, 23, 59)).remaining, 1);
    assert.equal(withRefill(state, at(2030, 5, 6, 0, 0)).remaining, 10);
  });
});
