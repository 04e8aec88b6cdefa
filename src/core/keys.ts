import type { CreditState } from './credits.ts';
import type { Meta, RatelimitConfig, RatelimitInput } from './model.ts';

/** A customer key as the verify pipeline and the key operations see it. */
export interface KeyRecord {
  id: string;
  workspaceId: string;
  keyspaceId: string;
  apiId: string;
  hash: string;
  start: string;
  name: string | null;
  meta: Meta | null;
  expires: number | null;
  enabled: boolean;
  identityId: string | null;
  credits: CreditState;
  /** Key-level rate limits. */
  ratelimits: RatelimitConfig[];
  /** Permission slugs (direct and via roles) and role names; filled by the RBAC store. */
  permissions: string[];
  roles: string[];
  pendingMigrationId: string | null;
  createdAt: number;
  updatedAt: number | null;
}

/** The identity part a verification needs; null in the cache when the identity is gone. */
export interface IdentityRecord {
  id: string;
  externalId: string;
  meta: Meta;
  ratelimits: RatelimitConfig[];
}

export interface CreditsInput {
  remaining: number | null;
  refill?: { interval: string; amount: number; refillDay?: number } | null;
}

/** What createKey, migrateKeys and rerollKey store for a new key. */
export interface NewKey {
  workspaceId: string;
  keyspaceId: string;
  hash: string;
  start: string;
  name?: string;
  externalId?: string;
  /** Set instead of externalId when the identity is already known (reroll). */
  identityId?: string;
  meta?: Meta;
  expires?: number;
  enabled?: boolean;
  remaining?: number | null;
  refill?: { amount: number; refillDay: number | null } | null;
  ratelimits?: RatelimitInput[];
  pendingMigrationId?: string;
}

/** Three-state changes of updateKey: `undefined` keeps, `null` clears, a value sets. */
export interface KeyChanges {
  name?: string | null;
  externalId?: string | null;
  meta?: Meta | null;
  expires?: number | null;
  enabled?: boolean;
  remaining?: number | null;
  refill?: { amount: number; refillDay: number | null } | null;
  ratelimits?: RatelimitInput[];
}
