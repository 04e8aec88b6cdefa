import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import type { KeyChanges } from '../core/keys.ts';
import { ExternalId, Meta, RatelimitRequests } from './schemas.ts';
import { checkMetaSize, checkUniqueRatelimitNames } from './wire.ts';
import { CreditsUpdate, KeyId, Timestamp, requireRemainingForRefill, toRefill } from './keySchemas.ts';
import { keyNotFound, requireKeyAction } from './keyWire.ts';

/** Absent keeps a field, null clears it, a value sets it. */
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));

export default defineRoute({
  operation: 'keys.updateKey',
  body: Type.Object(
    {
      keyId: KeyId,
      name: nullable(Type.String({ minLength: 1, maxLength: 255 })),
      externalId: nullable(ExternalId),
      meta: nullable(Meta),
      expires: nullable(Timestamp),
      credits: Type.Optional(CreditsUpdate),
      ratelimits: Type.Optional(RatelimitRequests),
      enabled: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    checkMetaSize(body.meta);
    checkUniqueRatelimitNames(body.ratelimits);
    const keys = services.store.keys;
    const key = await keys.findById(auth.workspaceId, body.keyId);
    if (!key) throw keyNotFound();
    requireKeyAction(auth, key, 'update_key');

    const changes: KeyChanges = {
      name: body.name,
      externalId: body.externalId,
      meta: body.meta,
      expires: body.expires,
      enabled: body.enabled,
      ratelimits: body.ratelimits,
    };
    if (body.credits === null || body.credits?.remaining === null) {
      // Unlimited: a refill has nothing left to refill.
      changes.remaining = null;
      changes.refill = null;
    } else if (body.credits) {
      changes.remaining = body.credits.remaining;
      if (body.credits.refill === null) changes.refill = null;
      else if (body.credits.refill) {
        requireRemainingForRefill(body.credits.remaining ?? key.credits.remaining, 'credits');
        changes.refill = toRefill(body.credits.refill, 'credits.refill');
      }
    }
    const before = await keys.update(auth.workspaceId, key.id, changes, services.clock());
    if (!before) throw keyNotFound();
    await services.cache.evictKey(before.hash);
    return { data: {} };
  },
});
