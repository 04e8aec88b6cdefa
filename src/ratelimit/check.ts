import { findOverride } from '../core/overrides.ts';
import type { Principal } from '../http/auth.ts';
import { errors } from '../http/errors.ts';
import type { LimitRequest } from '../limiter/types.ts';
import type { Services } from '../services.ts';
import type { NamespaceState } from './namespaces.ts';

/** One limit as the caller asks for it. */
export interface LimitInput {
  namespace: string;
  identifier: string;
  limit: number;
  duration: number;
  cost?: number;
}

export interface LimitOutcome {
  /** The limit that applied: the override's when one matched. */
  limit: number;
  remaining: number;
  reset: number;
  success: boolean;
  overrideId?: string;
}

/** Counters are scoped by workspace and namespace id, so neither workspaces nor recreated names ever share one. */
export function counterKey(workspaceId: string, namespaceId: string, identifier: string): string {
  return `rl:${workspaceId}:${namespaceId}:${identifier}`;
}

export const namespaceGone = (ref: string) =>
  errors.gone('ratelimit_namespace', `The namespace '${ref}' has been deleted and accepts no more limit checks.`);

/** The namespace a limit check runs in; an unknown one is created when the root key may create namespaces. */
async function namespaceForLimit(auth: Principal, services: Services, ref: string): Promise<NamespaceState> {
  let state = await services.namespaces.get(auth.workspaceId, ref);
  if (!state) {
    auth.require('ratelimit.*.create_namespace');
    auth.require('ratelimit.*.limit');
    state = await services.namespaces.create(auth.workspaceId, ref);
  }
  if (state.namespace.deletedAt !== undefined) throw namespaceGone(ref);
  if (!auth.has('ratelimit.*.limit')) auth.require('ratelimit.*.limit', `ratelimit.${state.namespace.id}.limit`);
  return state;
}

/**
 * Checks every limit in one all-or-nothing limiter call: when any is exceeded, no counter moves.
 * Outcomes come back in the order of the inputs.
 */
export async function checkLimits(
  auth: Principal,
  services: Services,
  inputs: LimitInput[],
): Promise<{ passed: boolean; outcomes: LimitOutcome[] }> {
  const requests: LimitRequest[] = new Array(inputs.length);
  const overrideIds: (string | undefined)[] = new Array(inputs.length);
  const states = inputs.length > 1 ? new Map<string, NamespaceState>() : undefined;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    let state = states?.get(input.namespace);
    if (!state) {
      // A cached, live namespace the key may use is taken without awaiting: the hot path never yields.
      const cached = services.namespaces.get(auth.workspaceId, input.namespace);
      state =
        cached && !(cached instanceof Promise) && cached.namespace.deletedAt === undefined && auth.has('ratelimit.*.limit')
          ? cached
          : await namespaceForLimit(auth, services, input.namespace);
      states?.set(input.namespace, state);
    }
    const override = findOverride(state.overrides, input.identifier);
    overrideIds[i] = override?.id;
    requests[i] = {
      key: counterKey(auth.workspaceId, state.namespace.id, input.identifier),
      limit: override ? override.limit : input.limit,
      duration: override ? override.duration : input.duration,
      cost: input.cost ?? 1,
    };
  }
  const limiter = services.limiter;
  const batch = limiter.checkNow ? limiter.checkNow(requests, services.clock()) : await limiter.check(requests, services.clock());
  const outcomes: LimitOutcome[] = new Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const r = batch.results[i];
    const outcome: LimitOutcome = { limit: r.limit, remaining: r.remaining, reset: r.reset, success: r.allowed };
    if (overrideIds[i] !== undefined) outcome.overrideId = overrideIds[i];
    outcomes[i] = outcome;
  }
  return { passed: batch.passed, outcomes };
}
