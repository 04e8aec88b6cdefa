import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { PermissionSlug, evictKeys, permissionNotFound } from './rbac.ts';

export default defineRoute({
  operation: 'permissions.deletePermission',
  body: Type.Object({ permission: PermissionSlug }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    auth.require('rbac.*.delete_permission');
    const deleted = await services.store.rbac.deletePermission(auth.workspaceId, body.permission);
    if (!deleted) throw permissionNotFound(body.permission);
    await evictKeys(services, deleted.affectedKeyIds);
    return { data: {} };
  },
});
