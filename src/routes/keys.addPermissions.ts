import { defineRoute } from '../http/route.ts';
import { KeyPermissionsBody, keyForRbacChange } from './keyRbac.ts';
import { permissionToWire, requireCreateForNewSlugs } from './rbac.ts';

export default defineRoute({
  operation: 'keys.addPermissions',
  body: KeyPermissionsBody(1),
  async handler(ctx, body) {
    const { auth, services } = ctx;
    const key = await keyForRbacChange(ctx, body.keyId, 'rbac.*.add_permission_to_key');
    await requireCreateForNewSlugs(auth, services.store, body.permissions);
    const permissions = await services.store.rbac.addKeyPermissions(auth.workspaceId, key.id, body.permissions);
    await services.cache.evictKey(key.hash);
    return { data: permissions.map(permissionToWire) };
  },
});
