import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { PermissionSlug, permissionNotFound, permissionToWire } from './rbac.ts';

export default defineRoute({
  operation: 'permissions.getPermission',
  // An id or a slug: ids fit the slug pattern too.
  body: Type.Object({ permission: PermissionSlug }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    auth.require('rbac.*.read_permission');
    const permission = await services.store.rbac.findPermission(auth.workspaceId, body.permission);
    if (!permission) throw permissionNotFound(body.permission);
    return { data: permissionToWire(permission) };
  },
});
