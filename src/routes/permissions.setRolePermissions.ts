import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { RolePermissionSlugs, evictKeys, permissionToWire, requireCreateForNewSlugs, roleNotFound } from './rbac.ts';

export default defineRoute({
  operation: 'permissions.setRolePermissions',
  body: Type.Object(
    {
      roleId: Type.String({ minLength: 3, maxLength: 255, pattern: '^[a-zA-Z0-9_-]+$' }),
      permissions: RolePermissionSlugs,
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    auth.require('rbac.*.add_permission_to_role');
    auth.require('rbac.*.remove_permission_from_role');
    await requireCreateForNewSlugs(auth, services.store, body.permissions);
    const updated = await services.store.rbac.setRolePermissions(auth.workspaceId, body.roleId, body.permissions);
    if (!updated) throw roleNotFound(body.roleId);
    await evictKeys(services, updated.affectedKeyIds);
    return { data: updated.role.permissions.map(permissionToWire) };
  },
});
