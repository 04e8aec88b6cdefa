import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { Cursor, PageLimit } from './schemas.ts';
import { identityToWire, pagination } from './wire.ts';

export default defineRoute({
  operation: 'identities.listIdentities',
  body: Type.Object(
    {
      limit: Type.Optional(PageLimit),
      cursor: Type.Optional(Cursor),
      search: Type.Optional(Type.String({ maxLength: 256 })),
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    const page = await services.store.identities.list(auth.workspaceId, {
      limit: body.limit ?? 100,
      cursor: body.cursor,
      search: body.search,
    });
    // Without the wildcard grant, the caller must be allowed to read every identity on the page.
    if (!auth.has('identity.*.read_identity')) {
      if (page.items.length === 0) auth.require('identity.*.read_identity');
      for (const identity of page.items) {
        auth.require('identity.*.read_identity', `identity.${identity.id}.read_identity`);
      }
    }
    return { data: page.items.map(identityToWire), pagination: pagination(page) };
  },
});
