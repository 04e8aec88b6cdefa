import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';
import { PermissionExistsError } from '../store/rbac.ts';
import { Description, PermissionSlug } from './rbac.ts';

export default defineRoute({
  operation: 'permissions.createPermission',
  body: Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 512 }),
      slug: PermissionSlug,
      description: Type.Optional(Description),
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    auth.require('rbac.*.create_permission');
    try {
      const permission = await services.store.rbac.createPermission(auth.workspaceId, body);
      return { data: { permissionId: permission.id } };
    } catch (err) {
      if (err instanceof PermissionExistsError) {
        throw errors.conflict('permission', `A permission with the slug '${body.slug}' already exists in this workspace.`);
      }
      throw err;
    }
  },
});
