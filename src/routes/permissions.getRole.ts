import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { RoleName, roleNotFound, roleToWire } from './rbac.ts';

export default defineRoute({
  operation: 'permissions.getRole',
  // An id or a name.
  body: Type.Object({ role: RoleName }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    auth.require('rbac.*.read_role');
    const role = await services.store.rbac.findRole(auth.workspaceId, body.role);
    if (!role) throw roleNotFound(body.role);
    return { data: roleToWire(role) };
  },
});
