import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { RoleName, evictKeys, roleNotFound } from './rbac.ts';

export default defineRoute({
  operation: 'permissions.deleteRole',
  body: Type.Object({ role: RoleName }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    auth.require('rbac.*.delete_role');
    const deleted = await services.store.rbac.deleteRole(auth.workspaceId, body.role);
    if (!deleted) throw roleNotFound(body.role);
    await evictKeys(services, deleted.affectedKeyIds);
    return { data: {} };
  },
});
