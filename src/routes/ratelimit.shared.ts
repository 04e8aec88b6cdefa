import { Type } from '@sinclair/typebox';
import type { Override } from '../core/overrides.ts';
import type { Principal } from '../http/auth.ts';
import { errors } from '../http/errors.ts';
import type { Services } from '../services.ts';
import type { Namespace } from '../store/ratelimit.ts';

/** Request-schema pieces and helpers shared by the ratelimit.* operations. */

export const NamespaceRef = Type.String({ minLength: 1, maxLength: 512 });
export const Identifier = Type.String({ minLength: 1, maxLength: 512 });
/** Whole numbers stay within what JSON numbers carry exactly. */
export const Count = (minimum: number) => Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER });

export const LimitBody = Type.Object(
  {
    namespace: NamespaceRef,
    identifier: Identifier,
    limit: Count(1),
    duration: Type.Integer({ minimum: 1000, maximum: 2_592_000_000 }),
    cost: Type.Optional(Count(0)),
  },
  { additionalProperties: false },
);

export const OverrideRef = Type.Object({ namespace: NamespaceRef, identifier: Identifier }, { additionalProperties: false });

export const namespaceNotFound = (ref: string) =>
  errors.notFound('ratelimit_namespace', `The namespace '${ref}' does not exist.`);
export const overrideNotFound = (identifier: string) =>
  errors.notFound('ratelimit_override', `There is no override for '${identifier}' in this namespace.`);

/** The live namespace an override operation works on; overrides never create namespaces. */
export async function liveNamespace(services: Services, auth: Principal, ref: string): Promise<Namespace> {
  const ns = await services.store.ratelimit.findNamespace(auth.workspaceId, ref);
  if (!ns || ns.deletedAt !== undefined) throw namespaceNotFound(ref);
  return ns;
}

/** The tuples that allow `action` on the namespace: the wildcard grant or the namespace's own. */
export function namespacePermissions(ns: Namespace, action: string): string[] {
  return [`ratelimit.*.${action}`, `ratelimit.${ns.id}.${action}`];
}

export function overrideToWire(o: Override) {
  return { overrideId: o.id, duration: o.duration, identifier: o.identifier, limit: o.limit };
}
