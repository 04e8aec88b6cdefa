import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { KeyId } from './keySchemas.ts';
import { keyNotFound, keyToWire, requireKeyAction } from './keyWire.ts';

export default defineRoute({
  operation: 'keys.getKey',
  body: Type.Object({ keyId: KeyId, decrypt: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    const key = await services.store.keys.findById(auth.workspaceId, body.keyId);
    if (!key) throw keyNotFound();
    requireKeyAction(auth, key, 'read_key');
    // Keys are only stored hashed, so `decrypt` has no plaintext to add; it needs the right all the same.
    if (body.decrypt) requireKeyAction(auth, key, 'decrypt_key');
    const identity = key.identityId ? await services.store.keys.identity(key.identityId) : null;
    return { data: keyToWire(key, identity, services.clock()) };
  },
});
