/**
 * The seam for rate-limit counters. One node counts in memory; a cluster counts in Redis. Both apply the
 * two-bucket sliding window of `core/slidingWindow.ts`, and both check a batch all-or-nothing: when any
 * limit of the batch is exceeded, no counter is incremented.
 */

export interface LimitRequest {
  /** The counter's identity, e.g. `<workspace>:<namespace>:<identifier>`; the duration is added by the limiter. */
  key: string;
  limit: number;
  /** Window length in ms. */
  duration: number;
  cost: number;
}

export interface LimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix ms at which the current window ends. */
  reset: number;
}

export interface BatchResult {
  /** True when every limit in the batch allowed the request, and so every counter was incremented. */
  passed: boolean;
  results: LimitResult[];
}

export interface RateLimiter {
  check(requests: LimitRequest[], now: number): Promise<BatchResult>;
  /** The same check without waiting, offered by limiters that need no I/O (the in-memory one). */
  checkNow?(requests: LimitRequest[], now: number): BatchResult;
  /** Forgets every counter whose key starts with the prefix (e.g. when a namespace is deleted). */
  reset?(keyPrefix: string): Promise<void>;
  close(): Promise<void>;
}
