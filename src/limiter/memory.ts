import { decide, judgedAt, rollForward, windowSequence, type WindowCounts, type WindowDecision } from '../core/slidingWindow.ts';
import type { BatchResult, LimitRequest, LimitResult, RateLimiter } from './types.ts';

/** A counter as last written: the window it was written in and its two buckets. */
type Counter = WindowCounts & { sequence: number };

interface Judged {
  /** The window the request counts in. */
  sequence: number;
  counts: WindowCounts;
  decision: WindowDecision;
}

interface Entry extends Counter {
  /** Unix ms after which the entry can no longer affect any decision. */
  expires: number;
}


/** One request against its counter: the window it is judged in, the counts there, and the decision. */
function judge(r: LimitRequest, stored: Counter | undefined, now: number): Judged {
  const at = judgedAt(now, r.duration, stored?.sequence);
  const sequence = windowSequence(at, r.duration);
  const counts = stored ? rollForward(stored, sequence) : { current: 0, previous: 0 };
  return { sequence, counts, decision: decide(at, r, counts) };
}

function toResult(r: LimitRequest, decision: WindowDecision): LimitResult {
  return { allowed: decision.allowed, limit: r.limit, remaining: decision.remaining, reset: decision.reset };
}

/**
 * Counters in this process's memory: exact for a single node, since JavaScript runs one check at a time.
 * Entries older than two windows are swept so memory follows the active keys, not all keys ever seen.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepEveryMs = 10_000, private readonly clock: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(this.clock()), sweepEveryMs);
    this.sweeper.unref();
  }

  /** Synchronous core of `check`, for callers on the hot path that must not yield. */
  checkNow(requests: LimitRequest[], now: number): BatchResult {
    if (requests.length === 1) return this.checkOne(requests[0], now);
    const results: LimitResult[] = new Array(requests.length);
    const seen: { key: string; after: Counter }[] = new Array(requests.length);
    // A counter named twice in one batch: the later request sees what the earlier one admitted.
    const batch = new Map<string, Counter>();
    let passed = true;
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i];
      const key = `${r.key}:${r.duration}`;
      const { sequence, counts, decision } = judge(r, batch.get(key) ?? this.entries.get(key), now);
      results[i] = toResult(r, decision);
      const current = decision.allowed ? counts.current + r.cost : counts.current;
      const after = { sequence, current, previous: counts.previous };
      seen[i] = { key, after };
      batch.set(key, after);
      if (!decision.allowed) passed = false;
    }
    if (passed) {
      for (let i = 0; i < requests.length; i++) {
        const { key, after } = seen[i];
        this.store(key, after.sequence, after.current, after.previous, requests[i].duration);
      }
    }
    return { passed, results };
  }

  /** The common case of one limit per check, without the bookkeeping a batch needs. */
  private checkOne(r: LimitRequest, now: number): BatchResult {
    const key = `${r.key}:${r.duration}`;
    const { sequence, counts, decision } = judge(r, this.entries.get(key), now);
    if (decision.allowed) this.store(key, sequence, counts.current + r.cost, counts.previous, r.duration);
    return { passed: decision.allowed, results: [toResult(r, decision)] };
  }

  /** Counters are updated in place: replacing them made every check leave an old-generation object behind. */
  private store(key: string, sequence: number, current: number, previous: number, duration: number): void {
    const expires = (sequence + 2) * duration;
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.entries.set(key, { sequence, current, previous, expires });
      return;
    }
    entry.sequence = sequence;
    entry.current = current;
    entry.previous = previous;
    entry.expires = expires;
  }

  async check(requests: LimitRequest[], now: number): Promise<BatchResult> {
    return this.checkNow(requests, now);
  }

  async reset(keyPrefix: string): Promise<void> {
    for (const key of this.entries.keys()) if (key.startsWith(keyPrefix)) this.entries.delete(key);
  }

  sweep(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
