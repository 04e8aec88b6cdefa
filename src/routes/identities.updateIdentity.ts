import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { Meta, RatelimitRequests } from './schemas.ts';
import { checkMetaSize, checkUniqueRatelimitNames, identityToWire } from './wire.ts';
import { IdentityRef, identityNotFound } from './identities.getIdentity.ts';

export default defineRoute({
  operation: 'identities.updateIdentity',
  body: Type.Object(
    { identity: IdentityRef, meta: Type.Optional(Meta), ratelimits: Type.Optional(RatelimitRequests) },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    checkMetaSize(body.meta);
    checkUniqueRatelimitNames(body.ratelimits);
    const existing = await services.store.identities.find(auth.workspaceId, body.identity);
    if (!existing) throw identityNotFound();
    auth.require('identity.*.update_identity', `identity.${existing.id}.update_identity`);
    const updated = await services.store.identities.update(auth.workspaceId, existing.id, {
      meta: body.meta,
      ratelimits: body.ratelimits,
    });
    if (!updated) throw identityNotFound();
    // The next verification of any of its keys must see the new meta and limits.
    await services.cache.evictIdentity(updated.id);
    return { data: identityToWire(updated) };
  },
});
