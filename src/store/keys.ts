import type { Db, Backend } from './connection.ts';
import { isUniqueViolation } from './connection.ts';
import { newId } from '../core/ids.ts';
import { latestRefillBoundary, type CreditState } from '../core/credits.ts';
import type { IdentityRecord, KeyChanges, KeyRecord, NewKey } from '../core/keys.ts';
import type { Page, RatelimitConfig } from '../core/model.ts';
import { replaceRatelimits, toRatelimitConfig } from './identities.ts';
import { toPage } from './pagination.ts';
import type { KeysTable, RatelimitsTable } from './schema.ts';
import { CreditLedger } from './credits.ts';
import type { KeyAccess, RbacStore } from './rbac.ts';
import { PreparedQueries } from './prepared.ts';

const KEY_BY_HASH = `SELECT keys.*, apis.id AS api_id FROM keys
  JOIN apis ON apis.keyspace_id = keys.keyspace_id AND apis.deleted_at IS NULL
  WHERE keys.hash = ? AND keys.deleted_at IS NULL`;
const LIMITS_OF_KEY = 'SELECT id, name, "limit", duration, auto_apply FROM ratelimits WHERE key_id = ? ORDER BY created_at, name';
const LIMITS_OF_IDENTITY =
  'SELECT id, name, "limit", duration, auto_apply FROM ratelimits WHERE identity_id = ? ORDER BY created_at, name';
const LIVE_IDENTITY = 'SELECT id, external_id, meta FROM identities WHERE id = ? AND deleted_at IS NULL';
const API_FOR_KEYS = `SELECT apis.id, apis.keyspace_id, keyspaces.default_prefix, keyspaces.default_bytes FROM apis
  JOIN keyspaces ON keyspaces.id = apis.keyspace_id
  WHERE apis.id = ? AND apis.workspace_id = ? AND apis.deleted_at IS NULL`;
const KEY_COLUMNS = [
  'id', 'workspace_id', 'keyspace_id', 'hash', 'start', 'name', 'identity_id', 'meta', 'expires', 'enabled', 'remaining',
  'refill_amount', 'refill_day', 'last_refill_at', 'pending_migration_id', 'created_at', 'updated_at', 'deleted_at',
] as const;
const INSERT_KEY = `INSERT INTO keys (${KEY_COLUMNS.join(', ')}) VALUES (${KEY_COLUMNS.map(() => '?').join(', ')})`;

type RatelimitRow = Pick<RatelimitsTable, 'id' | 'name' | 'limit' | 'duration' | 'auto_apply'>;

/** An API as the key operations need it: where its keys live and how new ones are made. */
export interface KeyApi {
  id: string;
  keyspaceId: string;
  defaultPrefix: string | null;
  defaultBytes: number | null;
}

type Executor = Pick<Db, 'selectFrom' | 'insertInto' | 'updateTable' | 'deleteFrom'>;

type KeyRow = KeysTable & { api_id: string };

/**
 * One copy of each workspace, keyspace and API id for all the records read: a cache of many keys
 * otherwise holds the same few ids once per key. Cleared when it grows past any plausible number of them.
 */
const sharedIds = new Map<string, string>();
function shared(id: string): string {
  const known = sharedIds.get(id);
  if (known !== undefined) return known;
  if (sharedIds.size >= 10_000) sharedIds.clear();
  sharedIds.set(id, id);
  return id;
}

/** The credit state of every key without credits: records are read-only, so one object serves them all. */
const NO_CREDITS: CreditState = Object.freeze({ remaining: null, refill: null, lastRefillAt: null });

// Built as one literal, never by spreading: records from one literal share V8's hidden class, so the
// cache's hundreds of thousands of them do not each carry their own property layout.
function toKeyRecord(row: KeyRow, ratelimits: RatelimitConfig[], access: KeyAccess | undefined): KeyRecord {
  return {
    id: row.id,
    workspaceId: shared(row.workspace_id),
    keyspaceId: shared(row.keyspace_id),
    apiId: shared(row.api_id),
    hash: row.hash,
    start: row.start,
    name: row.name,
    meta: row.meta === null ? null : JSON.parse(row.meta),
    expires: row.expires,
    enabled: row.enabled === 1,
    identityId: row.identity_id,
    credits:
      row.remaining === null && row.refill_amount === null && row.last_refill_at === null
        ? NO_CREDITS
        : {
            remaining: row.remaining,
            refill: row.refill_amount === null ? null : { amount: row.refill_amount, refillDay: row.refill_day },
            lastRefillAt: row.last_refill_at,
          },
    ratelimits,
    permissions: access?.permissions ?? [],
    roles: access?.roles ?? [],
    pendingMigrationId: row.pending_migration_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class KeyExistsError extends Error {}

/** Customer keys. Keys of deleted APIs, and soft-deleted keys, do not exist for any reader. */
export class KeyStore {
  readonly credits: CreditLedger;
  private readonly prepared: PreparedQueries;

  constructor(
    private readonly db: Db,
    backend: Backend,
    private readonly rbac: RbacStore,
  ) {
    this.prepared = new PreparedQueries(db, backend);
    this.credits = new CreditLedger(db, this.prepared, backend.kind === 'sqlite' ? backend.sqlite : undefined);
  }

  /** A live API of the workspace with its keyspace defaults, in one read. */
  async apiForKeys(workspaceId: string, apiId: string): Promise<KeyApi | undefined> {
    const row = await this.prepared.first<{ id: string; keyspace_id: string; default_prefix: string | null; default_bytes: number | null }>(
      API_FOR_KEYS,
      [apiId, workspaceId],
    );
    return row && { id: row.id, keyspaceId: row.keyspace_id, defaultPrefix: row.default_prefix, defaultBytes: row.default_bytes };
  }

  private liveKeys(db: Executor = this.db) {
    return db
      .selectFrom('keys')
      .innerJoin('apis', (join) => join.onRef('apis.keyspace_id', '=', 'keys.keyspace_id').on('apis.deleted_at', 'is', null))
      .selectAll('keys')
      .select('apis.id as api_id')
      .where('keys.deleted_at', 'is', null);
  }

  /** Inserts a key (linking or creating its identity) and returns its id. Throws KeyExistsError on a duplicate hash. */
  async create(key: NewKey, now: number): Promise<{ keyId: string; identityId: string | null }> {
    const identityId = key.identityId ?? (key.externalId ? await this.ensureIdentity(key.workspaceId, key.externalId, now) : null);
    const id = newId('key');
    const row: KeysTable = {
      id,
      workspace_id: key.workspaceId,
      keyspace_id: key.keyspaceId,
      hash: key.hash,
      start: key.start,
      name: key.name ?? null,
      identity_id: identityId,
      meta: key.meta === undefined ? null : JSON.stringify(key.meta),
      expires: key.expires ?? null,
      enabled: key.enabled === false ? 0 : 1,
      remaining: key.remaining ?? null,
      refill_amount: key.refill?.amount ?? null,
      refill_day: key.refill?.refillDay ?? null,
      last_refill_at: key.refill ? now : null,
      pending_migration_id: key.pendingMigrationId ?? null,
      created_at: now,
      updated_at: null,
      deleted_at: null,
    };
    try {
      if ((key.ratelimits && key.ratelimits.length > 0) || key.permissions?.length || key.roles?.length) {
        await this.db.transaction().execute(async (trx) => {
          await trx.insertInto('keys').values(row).execute();
          await replaceRatelimits(trx, key.workspaceId, { keyId: id }, key.ratelimits ?? [], now);
          if (key.permissions?.length) await this.rbac.setKeyPermissions(key.workspaceId, id, key.permissions, trx);
          if (key.roles?.length) await this.rbac.setKeyRoles(key.workspaceId, id, key.roles, trx);
        });
      } else {
        await this.prepared.rows(INSERT_KEY, KEY_COLUMNS.map((c) => row[c]));
      }
    } catch (err) {
      if (isUniqueViolation(err)) throw new KeyExistsError(key.hash);
      throw err;
    }
    return { keyId: id, identityId };
  }

  /** The live identity with this externalId, created when there is none. */
  async ensureIdentity(workspaceId: string, externalId: string, now: number): Promise<string> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.db
        .selectFrom('identities')
        .select('id')
        .where('workspace_id', '=', workspaceId)
        .where('external_id', '=', externalId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (existing) return existing.id;
      const id = newId('id');
      try {
        await this.db
          .insertInto('identities')
          .values({ id, workspace_id: workspaceId, external_id: externalId, meta: '{}', created_at: now, updated_at: null, deleted_at: null })
          .execute();
        return id;
      } catch (err) {
        // Another request created it at the same moment: read theirs.
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw new Error(`could not create or find identity '${externalId}'`);
  }

  async findById(workspaceId: string, keyId: string, db: Executor = this.db): Promise<KeyRecord | undefined> {
    const row = await this.liveKeys(db).where('keys.id', '=', keyId).where('keys.workspace_id', '=', workspaceId).executeTakeFirst();
    if (!row) return undefined;
    const access = (await this.rbac.keyAccess([row.id], db)).get(row.id)!;
    return toKeyRecord(row, await this.keyRatelimits(row.id, db), access);
  }

  /** The live key with this hash in any workspace; the caller checks the workspace. */
  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    const row = await this.prepared.first<KeyRow>(KEY_BY_HASH, [hash]);
    if (!row) return undefined;
    const limits = await this.prepared.rows<RatelimitRow>(LIMITS_OF_KEY, [row.id]);
    // The caller's string: the cache keys the record by it, so one copy serves both.
    row.hash = hash;
    return toKeyRecord(row, limits.map(toRatelimitConfig), await this.rbac.accessOfKey(row.id));
  }

  /** A live identity with its rate limits, or null when it was deleted. */
  async identity(identityId: string): Promise<IdentityRecord | null> {
    const row = await this.prepared.first<{ id: string; external_id: string; meta: string }>(LIVE_IDENTITY, [identityId]);
    if (!row) return null;
    const limits = await this.prepared.rows<RatelimitRow>(LIMITS_OF_IDENTITY, [identityId]);
    return { id: row.id, externalId: row.external_id, meta: JSON.parse(row.meta), ratelimits: limits.map(toRatelimitConfig) };
  }

  async list(
    workspaceId: string,
    keyspaceId: string,
    options: { limit: number; cursor?: string; identityId?: string },
  ): Promise<Page<KeyRecord>> {
    let query = this.liveKeys().where('keys.workspace_id', '=', workspaceId).where('keys.keyspace_id', '=', keyspaceId);
    if (options.cursor) query = query.where('keys.id', '>=', options.cursor);
    if (options.identityId) query = query.where('keys.identity_id', '=', options.identityId);
    const rows = await query.orderBy('keys.id').limit(options.limit + 1).execute();
    const page = toPage(rows, options.limit);
    const byKey = new Map<string, RatelimitConfig[]>();
    if (page.items.length > 0) {
      const limits = await this.db
        .selectFrom('ratelimits')
        .selectAll()
        .where('key_id', 'in', page.items.map((r) => r.id))
        .orderBy('created_at')
        .orderBy('name')
        .execute();
      for (const l of limits) {
        const list = byKey.get(l.key_id!) ?? [];
        list.push(toRatelimitConfig(l));
        byKey.set(l.key_id!, list);
      }
    }
    const access = await this.rbac.keyAccess(page.items.map((r) => r.id));
    const items = page.items.map((r) => toKeyRecord(r, byKey.get(r.id) ?? [], access.get(r.id)));
    return { items, cursor: page.cursor };
  }

  /** Applies three-state changes; returns the key as it was before, or undefined when there is no such key. */
  async update(workspaceId: string, keyId: string, changes: KeyChanges, now: number): Promise<KeyRecord | undefined> {
    const identityId =
      changes.externalId === undefined || changes.externalId === null
        ? changes.externalId
        : await this.ensureIdentity(workspaceId, changes.externalId, now);
    return this.db.transaction().execute(async (trx) => {
      const before = await this.findById(workspaceId, keyId, trx);
      if (!before) return undefined;
      const set: Partial<KeysTable> = { updated_at: now };
      if (changes.name !== undefined) set.name = changes.name;
      if (identityId !== undefined) set.identity_id = identityId;
      if (changes.meta !== undefined) set.meta = changes.meta === null ? null : JSON.stringify(changes.meta);
      if (changes.expires !== undefined) set.expires = changes.expires;
      if (changes.enabled !== undefined) set.enabled = changes.enabled ? 1 : 0;
      if (changes.remaining !== undefined) set.remaining = changes.remaining;
      const refill = before.credits.refill;
      if (changes.remaining != null && changes.refill === undefined && refill) {
        // A balance set by hand replaces a refill that was due but not yet applied.
        set.last_refill_at = Math.max(before.credits.lastRefillAt ?? 0, latestRefillBoundary(refill.refillDay, now));
      }
      if (changes.refill !== undefined) {
        set.refill_amount = changes.refill?.amount ?? null;
        set.refill_day = changes.refill?.refillDay ?? null;
        // A new refill schedule starts now: the next boundary after this moment refills.
        set.last_refill_at = changes.refill ? now : null;
      }
      await trx.updateTable('keys').set(set).where('id', '=', keyId).execute();
      if (changes.ratelimits !== undefined) {
        await replaceRatelimits(trx, workspaceId, { keyId }, changes.ratelimits, now);
      }
      if (changes.permissions !== undefined) await this.rbac.setKeyPermissions(workspaceId, keyId, changes.permissions, trx);
      if (changes.roles !== undefined) await this.rbac.setKeyRoles(workspaceId, keyId, changes.roles, trx);
      return before;
    });
  }

  /** Soft delete, or removes the row and its rate limits. Returns the deleted key, or undefined when there was none. */
  async delete(workspaceId: string, keyId: string, permanent: boolean, now: number): Promise<KeyRecord | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const key = await this.findById(workspaceId, keyId, trx);
      if (!key) return undefined;
      if (permanent) {
        await trx.deleteFrom('ratelimits').where('key_id', '=', keyId).execute();
        await this.rbac.removeKey(keyId, trx);
        await trx.deleteFrom('keys').where('id', '=', keyId).execute();
      } else {
        await trx.updateTable('keys').set({ deleted_at: now }).where('id', '=', keyId).execute();
      }
      return key;
    });
  }

  /** Sets an expiry on a key (reroll); returns false when the key is gone. */
  async setExpires(keyId: string, expires: number, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('keys')
      .set({ expires, updated_at: now })
      .where('id', '=', keyId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** The first verification of an imported key: it becomes an ordinary key with a visible start. */
  async completeMigration(keyId: string, start: string, now: number): Promise<void> {
    await this.db
      .updateTable('keys')
      .set({ pending_migration_id: null, start, updated_at: now })
      .where('id', '=', keyId)
      .execute();
  }

  async createMigration(workspaceId: string, algorithm: string, now: number): Promise<string> {
    const id = newId('mig');
    await this.db.insertInto('key_migrations').values({ id, workspace_id: workspaceId, algorithm, created_at: now }).execute();
    return id;
  }

  async findMigration(workspaceId: string, migrationId: string): Promise<{ id: string; algorithm: string } | undefined> {
    return this.db
      .selectFrom('key_migrations')
      .select(['id', 'algorithm'])
      .where('id', '=', migrationId)
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirst();
  }

  private async keyRatelimits(keyId: string, db: Executor = this.db): Promise<RatelimitConfig[]> {
    const rows = await db
      .selectFrom('ratelimits')
      .selectAll()
      .where('key_id', '=', keyId)
      .orderBy('created_at')
      .orderBy('name')
      .execute();
    return rows.map(toRatelimitConfig);
  }
}
