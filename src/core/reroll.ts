/** When the old key of a reroll stops working. */

const MINUTE = 60_000;

/**
 * `delay` ms from now, rounded up to the next whole minute (0 = at once), but never later than an expiry
 * the old key already had: a reroll can shorten a key's life, never extend it.
 */
export function rerolledExpiry(now: number, delay: number, currentExpiry: number | null): number {
  const target = delay === 0 ? now : Math.ceil((now + delay) / MINUTE) * MINUTE;
  return currentExpiry !== null && currentExpiry < target ? currentExpiry : target;
}

/** The prefix of a key, read from its visible start (`sk_live_abcd` → `sk_live`); undefined when it has none. */
export function prefixOfStart(start: string): string | undefined {
  const cut = start.lastIndexOf('_');
  return cut > 0 ? start.slice(0, cut) : undefined;
}
