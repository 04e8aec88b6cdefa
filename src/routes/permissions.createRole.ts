import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';
import { RoleExistsError } from '../store/rbac.ts';
import { Description, RoleName, RolePermissionSlugs, requireCreateForNewSlugs } from './rbac.ts';

export default defineRoute({
  operation: 'permissions.createRole',
  body: Type.Object(
    { name: RoleName, description: Type.Optional(Description), permissions: Type.Optional(RolePermissionSlugs) },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    auth.require('rbac.*.create_role');
    if (body.permissions && body.permissions.length > 0) auth.require('rbac.*.add_permission_to_role');
    await requireCreateForNewSlugs(auth, services.store, body.permissions);
    try {
      const role = await services.store.rbac.createRole(auth.workspaceId, {
        name: body.name,
        description: body.description,
        permissions: body.permissions ?? [],
      });
      return { data: { roleId: role.id } };
    } catch (err) {
      if (err instanceof RoleExistsError) {
        throw errors.conflict('role', `A role named '${body.name}' already exists in this workspace.`);
      }
      throw err;
    }
  },
});
