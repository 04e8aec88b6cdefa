import { refillInterval, withRefill, type RefillConfig } from '../core/credits.ts';
import type { IdentityRecord, KeyRecord } from '../core/keys.ts';
import { errors } from '../http/errors.ts';
import type { Principal } from '../http/auth.ts';
import { identityToWire, ratelimitToWire } from './wire.ts';

export const keyNotFound = () => errors.notFound('key', 'The requested key does not exist or has been deleted.');

/** Throws 403 unless the root key holds the action on every API or on this key's API. */
export function requireKeyAction(auth: Principal, key: Pick<KeyRecord, 'apiId'>, action: string): void {
  auth.require(`api.*.${action}`, `api.${key.apiId}.${action}`);
}

export function refillToWire(refill: RefillConfig) {
  const out: { interval: string; amount: number; refillDay?: number } = { interval: refillInterval(refill), amount: refill.amount };
  if (refill.refillDay !== null) out.refillDay = refill.refillDay;
  return out;
}

/** Imported keys show no start until their first verification reveals it. */
const UNKNOWN_START = '****';

/** KeyResponseData of getKey, whoami and listKeys; credits are reported with any due refill applied. */
export function keyToWire(key: KeyRecord, identity: IdentityRecord | null, now: number) {
  const out: Record<string, unknown> = {
    keyId: key.id,
    start: key.start || UNKNOWN_START,
    enabled: key.enabled,
    createdAt: key.createdAt,
  };
  if (key.name !== null) out.name = key.name;
  if (key.meta !== null && Object.keys(key.meta).length > 0) out.meta = key.meta;
  if (key.updatedAt !== null) out.updatedAt = key.updatedAt;
  if (key.expires !== null) out.expires = key.expires;
  if (key.permissions.length > 0) out.permissions = key.permissions;
  if (key.roles.length > 0) out.roles = key.roles;
  if (key.credits.remaining !== null) {
    const credits = withRefill(key.credits, now);
    out.credits = {
      remaining: credits.remaining,
      ...(credits.refill ? { refill: refillToWire(credits.refill) } : {}),
    };
  }
  if (identity) out.identity = identityToWire(identity);
  if (key.ratelimits.length > 0) out.ratelimits = key.ratelimits.map(ratelimitToWire);
  return out;
}
