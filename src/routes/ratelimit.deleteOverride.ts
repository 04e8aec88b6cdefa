import { defineRoute } from '../http/route.ts';
import { OverrideRef, liveNamespace, namespacePermissions, overrideNotFound } from './ratelimit.shared.ts';

export default defineRoute({
  operation: 'ratelimit.deleteOverride',
  body: OverrideRef,
  async handler({ auth, services }, body) {
    const ns = await liveNamespace(services, auth, body.namespace);
    auth.require(...namespacePermissions(ns, 'delete_override'));
    const deleted = await services.store.ratelimit.deleteOverride(auth.workspaceId, ns.id, body.identifier);
    if (!deleted) throw overrideNotFound(body.identifier);
    await services.namespaces.evict(auth.workspaceId);
    return { data: {} };
  },
});
