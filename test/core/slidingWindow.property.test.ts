import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decide, rollForward, windowSequence, type WindowCounts } from '../../src/core/slidingWindow.ts';

/**
 * A reference model written differently on purpose: it keeps every admitted request with its time and
 * recomputes the window counts from that log, instead of carrying two rolling buckets.
 */
class ReferenceWindow {
  private readonly log: { at: number; cost: number }[] = [];

  constructor(private readonly limit: number, private readonly duration: number) {}

  check(now: number, cost: number): { allowed: boolean; remaining: number; reset: number } {
    const start = Math.floor(now / this.duration) * this.duration;
    let current = 0;
    let previous = 0;
    for (const entry of this.log) {
      if (entry.at >= start && entry.at < start + this.duration) current += entry.cost;
      else if (entry.at >= start - this.duration && entry.at < start) previous += entry.cost;
    }
    const weight = 1 - (now - start) / this.duration;
    const total = current + Math.floor(previous * weight) + cost;
    const reset = start + this.duration;
    if (total > this.limit) return { allowed: false, remaining: 0, reset };
    this.log.push({ at: now, cost });
    return { allowed: true, remaining: this.limit - total, reset };
  }
}

/** The production path: the pure function plus the two-bucket state the limiters keep. */
class TwoBuckets {
  private state: WindowCounts & { sequence: number } = { current: 0, previous: 0, sequence: 0 };

  constructor(private readonly limit: number, private readonly duration: number) {}

  check(now: number, cost: number) {
    const sequence = windowSequence(now, this.duration);
    const counts = rollForward(this.state, sequence);
    const decision = decide(now, { limit: this.limit, duration: this.duration, cost }, counts);
    if (decision.allowed) this.state = { sequence, current: counts.current + cost, previous: counts.previous };
    else this.state = { sequence, ...counts };
    return decision;
  }
}

describe('sliding window against a reference model', () => {
  it('gives the same answer to every request of random sequences', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.constantFrom(1000, 5000, 60_000),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 70_000 }), cost: fc.integer({ min: 0, max: 8 }) }), {
          minLength: 1,
          maxLength: 200,
        }),
        (limit, duration, start, steps) => {
          const reference = new ReferenceWindow(limit, duration);
          const real = new TwoBuckets(limit, duration);
          let now = start;
          for (const step of steps) {
            now += step.gap;
            assert.deepEqual(real.check(now, step.cost), reference.check(now, step.cost), `at ${now} cost ${step.cost}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never admits more than the limit within one window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(fc.integer({ min: 0, max: 999 }), { maxLength: 100 }), (limit, offsets) => {
        const real = new TwoBuckets(limit, 1000);
        const base = 1_000_000;
        let admitted = 0;
        for (const offset of [...offsets].sort((a, b) => a - b)) if (real.check(base + offset, 1).allowed) admitted++;
        assert.ok(admitted <= limit);
        assert.equal(admitted, Math.min(limit, offsets.length));
      }),
    );
  });
});
