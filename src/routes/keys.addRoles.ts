import { defineRoute } from '../http/route.ts';
import { KeyRolesBody, keyForRbacChange } from './keyRbac.ts';
import { rethrowUnknownReference, roleToWire } from './rbac.ts';

export default defineRoute({
  operation: 'keys.addRoles',
  body: KeyRolesBody(1),
  async handler(ctx, body) {
    const { auth, services } = ctx;
    const key = await keyForRbacChange(ctx, body.keyId, 'rbac.*.add_role_to_key');
    const roles = await services.store.rbac.addKeyRoles(auth.workspaceId, key.id, body.roles).catch(rethrowUnknownReference);
    await services.cache.evictKey(key.hash);
    return { data: roles.map(roleToWire) };
  },
});
