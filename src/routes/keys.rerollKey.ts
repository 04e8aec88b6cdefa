import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { generateKey } from '../core/hash.ts';
import { withRefill } from '../core/credits.ts';
import { prefixOfStart, rerolledExpiry } from '../core/reroll.ts';
import { KeyId, Timestamp } from './keySchemas.ts';
import { keyNotFound, requireKeyAction } from './keyWire.ts';

export default defineRoute({
  operation: 'keys.rerollKey',
  // Loose like the reference API: unknown fields are ignored.
  body: Type.Object({ keyId: KeyId, expiration: Timestamp }, { additionalProperties: true }),
  async handler({ auth, services }, body) {
    const keys = services.store.keys;
    const old = await keys.findById(auth.workspaceId, body.keyId);
    if (!old) throw keyNotFound();
    requireKeyAction(auth, old, 'create_key');
    const now = services.clock();
    const defaults = await keys.keyspaceDefaults(old.keyspaceId);
    const generated = generateKey(prefixOfStart(old.start) ?? defaults.prefix ?? undefined, defaults.bytes ?? 16);
    const credits = withRefill(old.credits, now);
    const { keyId } = await keys.create(
      {
        workspaceId: old.workspaceId,
        keyspaceId: old.keyspaceId,
        hash: generated.hash,
        start: generated.start,
        name: old.name ?? undefined,
        identityId: old.identityId ?? undefined,
        meta: old.meta ?? undefined,
        expires: old.expires ?? undefined,
        enabled: old.enabled,
        remaining: credits.remaining,
        refill: credits.refill,
        ratelimits: old.ratelimits.map((r) => ({ name: r.name, limit: r.limit, duration: r.duration, autoApply: r.autoApply })),
      },
      now,
    );
    await keys.setExpires(old.id, rerolledExpiry(now, body.expiration, old.expires), now);
    await services.cache.evictKey(old.hash);
    await services.cache.evictKey(generated.hash);
    return { data: { keyId, key: generated.key } };
  },
});
