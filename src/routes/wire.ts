import type { Identity, Meta, Page, RatelimitConfig, RatelimitInput } from '../core/model.ts';
import { errors } from '../http/errors.ts';
import { META_MAX_BYTES } from './schemas.ts';

/** Conversions from domain objects to response JSON: optional fields are left out, never null. */

export function ratelimitToWire(r: RatelimitConfig) {
  return { id: r.id, name: r.name, limit: r.limit, duration: r.duration, autoApply: r.autoApply };
}

export function identityToWire(identity: Pick<Identity, 'id' | 'externalId' | 'meta' | 'ratelimits'>) {
  const out: Record<string, unknown> = { id: identity.id, externalId: identity.externalId };
  if (Object.keys(identity.meta).length > 0) out.meta = identity.meta;
  if (identity.ratelimits.length > 0) out.ratelimits = identity.ratelimits.map(ratelimitToWire);
  return out;
}

export function pagination(page: Page<unknown>) {
  return page.cursor ? { hasMore: true, cursor: page.cursor } : { hasMore: false };
}

/** Rejects meta whose JSON is over 1 MB; the field is named so the caller knows what to shrink. */
export function checkMetaSize(meta: Meta | undefined | null, field = 'meta'): void {
  if (meta === undefined || meta === null) return;
  const size = Buffer.byteLength(JSON.stringify(meta));
  if (size > META_MAX_BYTES) {
    throw errors.invalidInput(`The ${field} is too large: ${size} bytes, at most ${META_MAX_BYTES} are allowed.`, [
      { location: `body.${field}`, message: `body.${field} must serialise to at most ${META_MAX_BYTES} bytes` },
    ]);
  }
}

/** Rejects two rate limits with one name in the same request, naming the duplicate. */
export function checkUniqueRatelimitNames(ratelimits: RatelimitInput[] | undefined, field = 'ratelimits'): void {
  if (!ratelimits) return;
  const seen = new Set<string>();
  ratelimits.forEach((r, i) => {
    if (seen.has(r.name)) {
      throw errors.invalidInput(`Rate limit names must be unique; '${r.name}' appears more than once.`, [
        { location: `body.${field}[${i}].name`, message: `duplicate rate limit name '${r.name}'` },
      ]);
    }
    seen.add(r.name);
  });
}
