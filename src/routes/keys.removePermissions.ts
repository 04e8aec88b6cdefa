import { defineRoute } from '../http/route.ts';
import { KeyPermissionsBody, keyForRbacChange } from './keyRbac.ts';
import { permissionToWire, rethrowUnknownReference } from './rbac.ts';

export default defineRoute({
  operation: 'keys.removePermissions',
  body: KeyPermissionsBody(1),
  async handler(ctx, body) {
    const { auth, services } = ctx;
    const key = await keyForRbacChange(ctx, body.keyId, 'rbac.*.remove_permission_from_key');
    const permissions = await services.store.rbac
      .removeKeyPermissions(auth.workspaceId, key.id, body.permissions)
      .catch(rethrowUnknownReference);
    await services.cache.evictKey(key.hash);
    return { data: permissions.map(permissionToWire) };
  },
});
