import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { IdentityRef, identityNotFound } from './identities.getIdentity.ts';

export default defineRoute({
  operation: 'identities.deleteIdentity',
  body: Type.Object({ identity: IdentityRef }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    const existing = await services.store.identities.find(auth.workspaceId, body.identity);
    if (!existing) throw identityNotFound();
    auth.require('identity.*.delete_identity', `identity.${existing.id}.delete_identity`);
    const deleted = await services.store.identities.delete(auth.workspaceId, existing.id);
    if (!deleted) throw identityNotFound();
    // Its keys stay valid but lose the identity and its shared limits from the next verification on.
    await services.cache.evictIdentity(existing.id);
    // The only operation whose success body has no `data`.
    return {};
  },
});
