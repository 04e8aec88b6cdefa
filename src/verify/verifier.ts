import { performance } from 'node:perf_hooks';
import { hashKey } from '../core/hash.ts';
import type { IdentityRecord, KeyRecord } from '../core/keys.ts';
import {
  planRatelimits,
  precheck,
  visibleIdentityLimits,
  type PermissionEvaluator,
  type PlannedLimit,
  type RequestedLimit,
  type VerifyCode,
} from '../core/verify.ts';
import type { Principal } from '../http/auth.ts';
import type { AnalyticsSink } from '../analytics/types.ts';
import type { KeyCache } from '../cache/keyCache.ts';
import type { BatchResult, LimitRequest, RateLimiter } from '../limiter/types.ts';
import type { KeyStore } from '../store/keys.ts';
import { keyStart } from './start.ts';

export interface VerifyInput {
  key: string;
  tags?: string[];
  permissions?: string;
  credits?: { cost: number };
  ratelimits?: RequestedLimit[];
  migrationId?: string;
}

export interface VerifyRatelimit {
  exceeded: boolean;
  id: string;
  name: string;
  limit: number;
  duration: number;
  reset: number;
  remaining: number;
  autoApply: boolean;
}

/** The `data` of a verifyKey answer; optional fields are absent or undefined, never null. */
export interface VerifyData {
  valid: boolean;
  code: VerifyCode;
  keyId?: string;
  name?: string;
  meta?: Record<string, unknown>;
  expires?: number;
  credits?: number;
  enabled?: boolean;
  permissions?: string[];
  roles?: string[];
  identity?: { id: string; externalId: string; meta?: Record<string, unknown>; ratelimits?: unknown[] };
  ratelimits?: VerifyRatelimit[];
}

export interface VerifierDeps {
  keys: KeyStore;
  cache: KeyCache;
  limiter: RateLimiter;
  analytics: AnalyticsSink;
  clock: () => number;
  nodeId: string;
  /** The permission-query step; without an evaluator the step lets every request through. */
  evaluatePermissions?: PermissionEvaluator;
}

type SyncLimiter = RateLimiter & { checkNow(requests: LimitRequest[], now: number): BatchResult };

interface KeyShape {
  key: KeyRecord;
  identity: IdentityRecord | null;
  base: VerifyData;
  /** The base's fields after `valid` and `code`, as JSON text with a leading comma (or empty). */
  fixedJson: string;
  autoPlanned: PlannedLimit[];
  autoRequests: LimitRequest[];
}

/**
 * Where a cached key record keeps its shape: a property on the record rather than a WeakMap entry, so a
 * cached key costs the garbage collector no ephemeron to trace besides its objects.
 */
const SHAPE = Symbol('shape');
type ShapedKey = KeyRecord & { [SHAPE]?: KeyShape };

/** Shared by every key without auto-applied limits, so such keys carry no arrays of their own. */
const NO_PLANNED: PlannedLimit[] = [];
const NO_REQUESTS: LimitRequest[] = [];

function toRequests(planned: PlannedLimit[]): LimitRequest[] {
  return planned.map((p) => ({ key: p.counter, limit: p.limit, duration: p.duration, cost: p.cost }));
}

const NOT_FOUND: VerifyData = Object.freeze({ valid: false, code: 'NOT_FOUND' }) as VerifyData;

/**
 * On answers about a known key: its fixed fields as JSON text (see `renderVerifyData`). A symbol key, so
 * JSON.stringify and every other serialiser pass over it.
 */
const FIXED_JSON = Symbol('fixedJson');

/**
 * A verification's `data` as JSON text, the same as `JSON.stringify(data)`: the key's fixed fields come
 * from text made once per cached key, and only the outcome, the limits and the credits are serialised per
 * call. An answer not made by `verify` is serialised whole.
 */
export function renderVerifyData(data: VerifyData): string {
  const fixed = (data as VerifyData & { [FIXED_JSON]?: string })[FIXED_JSON];
  if (fixed === undefined) return JSON.stringify(data);
  let out = `{"valid":${data.valid},"code":${JSON.stringify(data.code)}${fixed}`;
  if (data.ratelimits !== undefined) out += `,"ratelimits":${JSON.stringify(data.ratelimits)}`;
  if (data.credits !== undefined) out += `,"credits":${JSON.stringify(data.credits)}`;
  return `${out}}`;
}

/**
 * Runs one verification. On a cache hit nothing here waits on I/O except the credits deduction of keys
 * that have credits (and the limiter, when it is a remote one).
 */
export class Verifier {
  private readonly syncLimiter: SyncLimiter | undefined;

  constructor(private readonly deps: VerifierDeps) {
    const limiter = deps.limiter as Partial<SyncLimiter>;
    this.syncLimiter = typeof limiter.checkNow === 'function' ? (deps.limiter as SyncLimiter) : undefined;
  }

  async verify(principal: Principal, input: VerifyInput, requestId: string): Promise<VerifyData> {
    const started = performance.now();
    const now = this.deps.clock();
    const hash = hashKey(input.key);
    const cache = this.deps.cache;
    let key = cache.peekKey(hash);
    if (key === undefined) key = await cache.loadKey(hash);
    if (
      key === null ||
      key.workspaceId !== principal.workspaceId ||
      // A root key that may not verify this API's keys learns nothing about them.
      !principal.has('api.*.verify_key', `api.${key.apiId}.verify_key`)
    ) {
      this.record(requestId, now, started, principal.workspaceId, null, null, 'NOT_FOUND', input.tags, 0);
      return NOT_FOUND;
    }
    if (key.pendingMigrationId !== null && input.migrationId === key.pendingMigrationId) {
      await this.deps.keys.completeMigration(key.id, keyStart(input.key), now);
      await cache.evictKey(hash);
    }
    let identity: IdentityRecord | null = null;
    if (key.identityId !== null) {
      const cached = cache.peekIdentity(key.identityId);
      identity = cached !== undefined ? cached : await cache.loadIdentity(key.identityId);
    }

    const shape = this.shapeOf(key, identity);
    const data = answerOf(shape);
    let code: VerifyCode | undefined = precheck(key, now);
    if (
      code === undefined &&
      input.permissions !== undefined &&
      this.deps.evaluatePermissions !== undefined &&
      !this.deps.evaluatePermissions(input.permissions, key.permissions)
    ) {
      code = 'INSUFFICIENT_PERMISSIONS';
    }
    if (code === undefined) {
      const planned = input.ratelimits?.length ? planRatelimits(key, identity, input.ratelimits) : shape.autoPlanned;
      if (planned.length > 0) {
        const checked = this.check(planned === shape.autoPlanned ? shape.autoRequests : toRequests(planned), now);
        const batch = checked instanceof Promise ? await checked : checked;
        data.ratelimits = planned.map((p, i) => toVerifyRatelimit(p, batch.results[i], batch.passed));
        if (!batch.passed) code = 'RATE_LIMITED';
      }
    }
    let spent = 0;
    if (code === undefined && key.credits.remaining !== null) {
      const cost = input.credits?.cost ?? 1;
      const result = await this.deps.keys.credits.spend(key.id, cost, key.credits.refill?.refillDay ?? null, now);
      if (result) {
        data.credits = result.remaining;
        if (result.ok) spent = cost;
        else code = 'USAGE_EXCEEDED';
      }
    }
    data.code = code ?? 'VALID';
    data.valid = code === undefined;
    this.record(requestId, now, started, key.workspaceId, key, identity, data.code, input.tags, spent);
    return data;
  }

  private check(requests: LimitRequest[], now: number): BatchResult | Promise<BatchResult> {
    return this.syncLimiter ? this.syncLimiter.checkNow(requests, now) : this.deps.limiter.check(requests, now);
  }

  /**
   * What does not change between verifications of a cached key: the answer's fixed fields and the
   * auto-applied limits. Cached records are replaced, never changed, so this is kept per record pair.
   */
  private shapeOf(key: ShapedKey, identity: IdentityRecord | null): KeyShape {
    const known = key[SHAPE];
    // A record copied with a spread carries its original's shape: only the record's own one counts.
    if (known && known.key === key && known.identity === identity) return known;
    const planned = planRatelimits(key, identity, undefined);
    const autoPlanned = planned.length === 0 ? NO_PLANNED : planned;
    const base = describe(key, identity);
    const { valid: _valid, code: _code, ...fixed } = base;
    const fixedText = JSON.stringify(fixed);
    const fixedJson = fixedText === '{}' ? '' : `,${fixedText.slice(1, -1)}`;
    const autoRequests = autoPlanned === NO_PLANNED ? NO_REQUESTS : toRequests(autoPlanned);
    const shape: KeyShape = { key, identity, base, fixedJson, autoPlanned, autoRequests };
    key[SHAPE] = shape;
    return shape;
  }

  private record(
    requestId: string,
    time: number,
    started: number,
    workspaceId: string,
    key: KeyRecord | null,
    identity: IdentityRecord | null,
    outcome: VerifyCode,
    tags: string[] | undefined,
    spentCredits: number,
  ): void {
    try {
      this.deps.analytics.record({
        requestId,
        time,
        workspaceId,
        keySpaceId: key?.keyspaceId ?? '',
        keyId: key?.id ?? '',
        identityId: identity?.id ?? '',
        externalId: identity?.externalId ?? '',
        outcome,
        tags: tags ?? [],
        spentCredits,
        latency: performance.now() - started,
        nodeId: this.deps.nodeId,
      });
    } catch {
      // Recording is best effort: it must never fail a verification.
    }
  }
}

function toVerifyRatelimit(
  p: PlannedLimit,
  r: { allowed: boolean; remaining: number; reset: number },
  counted: boolean,
): VerifyRatelimit {
  // When the batch was denied nothing was counted, so a limit that would have allowed the call reports
  // its balance without this call's cost.
  const remaining = r.allowed && !counted ? Math.min(p.limit, r.remaining + p.cost) : r.remaining;
  return {
    exceeded: !r.allowed,
    id: p.id,
    name: p.name,
    limit: p.limit,
    duration: p.duration,
    reset: r.reset,
    remaining,
    autoApply: p.autoApply,
  };
}

/**
 * A new answer about a known key, written as one literal with every field in the order JSON.stringify
 * writes them, those the key lacks left undefined (which it omits). Copying the base with a spread and
 * adding the per-call fields to the copy cost about a microsecond per verification: a spread's copy
 * takes a map outside V8's transition tree, so each added field made a new map, in old space.
 */
function answerOf(shape: KeyShape): VerifyData & { [FIXED_JSON]: string } {
  const b = shape.base;
  return {
    valid: false,
    code: 'VALID',
    keyId: b.keyId,
    name: b.name,
    meta: b.meta,
    expires: b.expires,
    enabled: b.enabled,
    permissions: b.permissions,
    roles: b.roles,
    identity: b.identity,
    ratelimits: undefined,
    credits: undefined,
    [FIXED_JSON]: shape.fixedJson,
  };
}

/** What every answer about an existing key carries, before the outcome is known. */
function describe(key: KeyRecord, identity: IdentityRecord | null): VerifyData {
  const data: VerifyData = { valid: false, code: 'VALID', keyId: key.id };
  if (key.name !== null) data.name = key.name;
  if (key.meta !== null && Object.keys(key.meta).length > 0) data.meta = key.meta;
  if (key.expires !== null) data.expires = key.expires;
  data.enabled = key.enabled;
  if (key.permissions.length > 0) data.permissions = key.permissions;
  if (key.roles.length > 0) data.roles = key.roles;
  if (identity !== null) {
    const out: NonNullable<VerifyData['identity']> = { id: identity.id, externalId: identity.externalId };
    if (Object.keys(identity.meta).length > 0) out.meta = identity.meta;
    const limits = visibleIdentityLimits(key, identity);
    if (limits.length > 0) {
      out.ratelimits = limits.map((r) => ({ id: r.id, name: r.name, limit: r.limit, duration: r.duration, autoApply: r.autoApply }));
    }
    data.identity = out;
  }
  return data;
}
