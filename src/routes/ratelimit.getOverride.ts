import { defineRoute } from '../http/route.ts';
import { OverrideRef, liveNamespace, namespacePermissions, overrideNotFound, overrideToWire } from './ratelimit.shared.ts';

export default defineRoute({
  operation: 'ratelimit.getOverride',
  body: OverrideRef,
  async handler({ auth, services }, body) {
    const ns = await liveNamespace(services, auth, body.namespace);
    // Without read access the answer is the same as for a missing override: nothing is revealed.
    if (!auth.has(...namespacePermissions(ns, 'read_override'))) throw overrideNotFound(body.identifier);
    const override = await services.store.ratelimit.getOverride(auth.workspaceId, ns.id, body.identifier);
    if (!override) throw overrideNotFound(body.identifier);
    return { data: overrideToWire(override) };
  },
});
