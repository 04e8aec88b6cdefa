/**
 * Credits and their refill. A refill is never run by a timer: every reader computes the latest refill
 * boundary from the clock and compares it with the boundary last applied (stored with the key), so a
 * refill is applied exactly once, on first use after its boundary, even after the server was down.
 */

export type RefillInterval = 'daily' | 'monthly';

export interface RefillConfig {
  amount: number;
  /** Day of the month for monthly refills; null for daily ones. */
  refillDay: number | null;
}

export interface CreditState {
  /** null = unlimited. */
  remaining: number | null;
  refill: RefillConfig | null;
  /** The refill boundary last applied, unix ms. */
  lastRefillAt: number | null;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * The most recent refill boundary at or before `now` (UTC midnight). Monthly refills fall on
 * `refillDay`, or on the last day of months that are shorter.
 */
export function latestRefillBoundary(refillDay: number | null, now: number): number {
  const d = new Date(now);
  let year = d.getUTCFullYear();
  let month = d.getUTCMonth();
  if (refillDay === null) return Date.UTC(year, month, d.getUTCDate());
  const thisMonth = Math.min(refillDay, daysInMonth(year, month));
  if (d.getUTCDate() >= thisMonth) return Date.UTC(year, month, thisMonth);
  month -= 1;
  if (month < 0) {
    month = 11;
    year -= 1;
  }
  return Date.UTC(year, month, Math.min(refillDay, daysInMonth(year, month)));
}

/** True when a refill boundary has passed since the last one applied. */
export function refillDue(state: CreditState, now: number): boolean {
  if (state.refill === null || state.remaining === null) return false;
  const boundary = latestRefillBoundary(state.refill.refillDay, now);
  return state.lastRefillAt === null || state.lastRefillAt < boundary;
}

/**
 * The state as of `now`: a due refill sets remaining to the refill amount (never lowering a larger
 * balance) and records the boundary it belongs to.
 */
export function withRefill(state: CreditState, now: number): CreditState {
  if (!refillDue(state, now)) return state;
  const refill = state.refill!;
  return {
    remaining: Math.max(state.remaining!, refill.amount),
    refill,
    lastRefillAt: latestRefillBoundary(refill.refillDay, now),
  };
}

export function refillInterval(refill: RefillConfig): RefillInterval {
  return refill.refillDay === null ? 'daily' : 'monthly';
}
