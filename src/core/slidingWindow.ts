/**
 * The two-bucket sliding window. Time is cut into fixed windows of `duration` ms; a request counts the
 * current window in full and the previous window weighted by how much of it still overlaps the sliding
 * window ending now. Pure: the in-memory limiter calls it, and the Redis script mirrors it line by line.
 */

export interface WindowCounts {
  /** Cost already admitted in the current window. */
  current: number;
  /** Cost admitted in the window before it. */
  previous: number;
}

export interface WindowCheck {
  limit: number;
  duration: number;
  cost: number;
}

export interface WindowDecision {
  allowed: boolean;
  remaining: number;
  /** Unix ms at which the current window ends. */
  reset: number;
}

/**
 * The time a request is judged at, given the window its counter was last written in. A request stamped
 * before that window (it waited longer for its key than a later one, or its node's clock lags) counts
 * against the newer window from its start: it must neither reopen the older window nor reset the counter.
 */
export function judgedAt(now: number, duration: number, storedSequence: number | undefined): number {
  return storedSequence === undefined ? now : Math.max(now, storedSequence * duration);
}

/** Index of the window that `now` falls in. */
export function windowSequence(now: number, duration: number): number {
  return Math.floor(now / duration);
}

export function decide(now: number, check: WindowCheck, counts: WindowCounts): WindowDecision {
  const sequence = windowSequence(now, check.duration);
  const start = sequence * check.duration;
  const reset = start + check.duration;
  const elapsed = (now - start) / check.duration;
  const effective = counts.current + Math.floor(counts.previous * (1 - elapsed)) + check.cost;
  if (effective > check.limit) return { allowed: false, remaining: 0, reset };
  return { allowed: true, remaining: Math.max(0, check.limit - effective), reset };
}

/**
 * Counts as seen at window `sequence`, given what was stored for window `storedSequence`:
 * the stored current window becomes the previous one when time has moved on by exactly one window.
 */
export function rollForward(stored: WindowCounts & { sequence: number }, sequence: number): WindowCounts {
  if (stored.sequence === sequence) return { current: stored.current, previous: stored.previous };
  if (stored.sequence === sequence - 1) return { current: 0, previous: stored.current };
  return { current: 0, previous: 0 };
}
