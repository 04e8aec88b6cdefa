import { defineRoute } from '../http/route.ts';
import { pagination } from './wire.ts';
import { ListBody, roleToWire } from './rbac.ts';

export default defineRoute({
  operation: 'permissions.listRoles',
  body: ListBody,
  async handler({ auth, services }, body) {
    auth.require('rbac.*.read_role');
    const page = await services.store.rbac.listRoles(auth.workspaceId, {
      limit: body.limit ?? 100,
      cursor: body.cursor,
      search: body.search,
    });
    return { data: page.items.map(roleToWire), pagination: pagination(page) };
  },
});
