import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { Cursor, PageLimit } from './schemas.ts';
import { pagination } from './wire.ts';
import { NamespaceRef, liveNamespace, namespacePermissions, overrideToWire } from './ratelimit.shared.ts';

export default defineRoute({
  operation: 'ratelimit.listOverrides',
  body: Type.Object(
    { namespace: NamespaceRef, cursor: Type.Optional(Cursor), limit: Type.Optional(PageLimit) },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    const ns = await liveNamespace(services, auth, body.namespace);
    auth.require(...namespacePermissions(ns, 'read_override'));
    const page = await services.store.ratelimit.listOverrides(auth.workspaceId, ns.id, {
      limit: body.limit ?? 10,
      cursor: body.cursor,
    });
    return { data: page.items.map(overrideToWire), pagination: pagination(page) };
  },
});
