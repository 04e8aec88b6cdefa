import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { Count, NamespaceRef, liveNamespace, namespacePermissions } from './ratelimit.shared.ts';

export default defineRoute({
  operation: 'ratelimit.setOverride',
  body: Type.Object(
    {
      namespace: NamespaceRef,
      // Kept to 255 characters so every stored override can be read back within the response schema.
      identifier: Type.String({ minLength: 1, maxLength: 255 }),
      limit: Count(0),
      duration: Count(1000),
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    const ns = await liveNamespace(services, auth, body.namespace);
    auth.require(...namespacePermissions(ns, 'set_override'));
    const override = await services.store.ratelimit.setOverride(auth.workspaceId, ns.id, body);
    await services.namespaces.evict(auth.workspaceId);
    return { data: { overrideId: override.id } };
  },
});
