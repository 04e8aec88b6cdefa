import { defineRoute } from '../http/route.ts';
import { pagination } from './wire.ts';
import { ListBody, permissionToWire } from './rbac.ts';

export default defineRoute({
  operation: 'permissions.listPermissions',
  body: ListBody,
  async handler({ auth, services }, body) {
    auth.require('rbac.*.read_permission');
    const page = await services.store.rbac.listPermissions(auth.workspaceId, {
      limit: body.limit ?? 100,
      cursor: body.cursor,
      search: body.search,
    });
    return { data: page.items.map(permissionToWire), pagination: pagination(page) };
  },
});
