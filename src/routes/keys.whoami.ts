import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { hashKey } from '../core/hash.ts';
import { keyNotFound, keyToWire } from './keyWire.ts';

export default defineRoute({
  operation: 'keys.whoami',
  body: Type.Object({ key: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    const key = await services.store.keys.findByHash(hashKey(body.key));
    // Whatever the reason (unknown, another workspace, no right to read it), the answer is the same.
    if (!key || key.workspaceId !== auth.workspaceId || !auth.has('api.*.read_key', `api.${key.apiId}.read_key`)) {
      throw keyNotFound();
    }
    const identity = key.identityId ? await services.store.keys.identity(key.identityId) : null;
    return { data: keyToWire(key, identity, services.clock()) };
  },
});
