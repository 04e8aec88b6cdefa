import { defineRoute } from '../http/route.ts';
import { KeyRolesBody, keyForRbacChange } from './keyRbac.ts';
import { rethrowUnknownReference, roleToWire } from './rbac.ts';

export default defineRoute({
  operation: 'keys.setRoles',
  body: KeyRolesBody(0),
  async handler(ctx, body) {
    const { auth, services } = ctx;
    // Replacing roles needs only the right to update the key.
    const key = await keyForRbacChange(ctx, body.keyId);
    const roles = await services.store.rbac.setKeyRoles(auth.workspaceId, key.id, body.roles).catch(rethrowUnknownReference);
    await services.cache.evictKey(key.hash);
    return { data: roles.map(roleToWire) };
  },
});
