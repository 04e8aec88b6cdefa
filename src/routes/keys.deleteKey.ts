import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { KeyId } from './keySchemas.ts';
import { keyNotFound, requireKeyAction } from './keyWire.ts';

export default defineRoute({
  operation: 'keys.deleteKey',
  body: Type.Object({ keyId: KeyId, permanent: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    const keys = services.store.keys;
    const key = await keys.findById(auth.workspaceId, body.keyId);
    if (!key) throw keyNotFound();
    requireKeyAction(auth, key, 'delete_key');
    const deleted = await keys.delete(auth.workspaceId, key.id, body.permanent ?? false, services.clock());
    if (!deleted) throw keyNotFound();
    await services.cache.evictKey(deleted.hash);
    return { data: {} };
  },
});
