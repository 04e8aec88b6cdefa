import { sql } from 'kysely';
import type { Db } from './connection.ts';
import { isUniqueViolation } from './connection.ts';
import { newId } from '../core/ids.ts';
import type { Identity, Meta, Page, RatelimitConfig, RatelimitInput } from '../core/model.ts';
import { containsPattern, toPage } from './pagination.ts';
import type { RatelimitsTable } from './schema.ts';

export class IdentityExistsError extends Error {}

type Executor = Pick<Db, 'selectFrom' | 'insertInto' | 'updateTable' | 'deleteFrom'>;

export function toRatelimitConfig(row: Pick<RatelimitsTable, 'id' | 'name' | 'limit' | 'duration' | 'auto_apply'>): RatelimitConfig {
  return { id: row.id, name: row.name, limit: row.limit, duration: row.duration, autoApply: row.auto_apply === 1 };
}

/**
 * Replaces the rate limits of one owner (an identity or a key) by name: names kept keep their ids,
 * missing names are removed, new names are inserted.
 */
export async function replaceRatelimits(
  db: Executor,
  workspaceId: string,
  owner: { identityId: string } | { keyId: string },
  wanted: RatelimitInput[],
  now: number,
): Promise<RatelimitConfig[]> {
  const ownerColumn = 'identityId' in owner ? 'identity_id' : 'key_id';
  const ownerId = 'identityId' in owner ? owner.identityId : owner.keyId;
  const existing = await db.selectFrom('ratelimits').selectAll().where(ownerColumn, '=', ownerId).execute();
  const byName = new Map(existing.map((r) => [r.name, r]));
  const wantedNames = new Set(wanted.map((r) => r.name));
  const stale = existing.filter((r) => !wantedNames.has(r.name)).map((r) => r.id);
  if (stale.length > 0) await db.deleteFrom('ratelimits').where('id', 'in', stale).execute();
  const result: RatelimitConfig[] = [];
  for (const r of wanted) {
    const autoApply = r.autoApply ? 1 : 0;
    const current = byName.get(r.name);
    if (current) {
      if (current.limit !== r.limit || current.duration !== r.duration || current.auto_apply !== autoApply) {
        await db
          .updateTable('ratelimits')
          .set({ limit: r.limit, duration: r.duration, auto_apply: autoApply, updated_at: now })
          .where('id', '=', current.id)
          .execute();
      }
      result.push({ id: current.id, name: r.name, limit: r.limit, duration: r.duration, autoApply: r.autoApply ?? false });
    } else {
      const id = newId('rl');
      await db
        .insertInto('ratelimits')
        .values({
          id,
          workspace_id: workspaceId,
          name: r.name,
          identity_id: ownerColumn === 'identity_id' ? ownerId : null,
          key_id: ownerColumn === 'key_id' ? ownerId : null,
          limit: r.limit,
          duration: r.duration,
          auto_apply: autoApply,
          created_at: now,
          updated_at: null,
        })
        .execute();
      result.push({ id, name: r.name, limit: r.limit, duration: r.duration, autoApply: r.autoApply ?? false });
    }
  }
  return result;
}

export class IdentityStore {
  constructor(private readonly db: Db) {}

  async create(workspaceId: string, externalId: string, meta: Meta, ratelimits: RatelimitInput[]): Promise<Identity> {
    const id = newId('id');
    const now = Date.now();
    try {
      const configs = await this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('identities')
          .values({
            id,
            workspace_id: workspaceId,
            external_id: externalId,
            meta: JSON.stringify(meta),
            created_at: now,
            updated_at: null,
            deleted_at: null,
          })
          .execute();
        return replaceRatelimits(trx, workspaceId, { identityId: id }, ratelimits, now);
      });
      return { id, workspaceId, externalId, meta, ratelimits: configs };
    } catch (err) {
      if (isUniqueViolation(err)) throw new IdentityExistsError(externalId);
      throw err;
    }
  }

  /** Finds a live identity by its id or, failing that, by its externalId. */
  async find(workspaceId: string, idOrExternalId: string, db: Executor = this.db): Promise<Identity | undefined> {
    const rows = await db
      .selectFrom('identities')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('deleted_at', 'is', null)
      .where((eb) => eb.or([eb('id', '=', idOrExternalId), eb('external_id', '=', idOrExternalId)]))
      .execute();
    const row = rows.find((r) => r.id === idOrExternalId) ?? rows[0];
    if (!row) return undefined;
    const [identity] = await this.withRatelimits([row], db);
    return identity;
  }

  async list(
    workspaceId: string,
    options: { limit: number; cursor?: string; search?: string },
  ): Promise<Page<Identity>> {
    let query = this.db
      .selectFrom('identities')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('deleted_at', 'is', null);
    if (options.cursor) query = query.where('id', '>=', options.cursor);
    const search = options.search?.trim();
    if (search) {
      const pattern = containsPattern(search);
      query = query.where(
        sql<boolean>`(lower(id) like ${pattern} escape '\\' or lower(external_id) like ${pattern} escape '\\')`,
      );
    }
    const rows = await query.orderBy('id').limit(options.limit + 1).execute();
    const page = toPage(rows, options.limit);
    return { items: await this.withRatelimits(page.items), cursor: page.cursor };
  }

  /** Applies the given changes; `undefined` fields are kept. Returns undefined when there is no such identity. */
  async update(
    workspaceId: string,
    idOrExternalId: string,
    changes: { meta?: Meta; ratelimits?: RatelimitInput[] },
  ): Promise<Identity | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const identity = await this.find(workspaceId, idOrExternalId, trx);
      if (!identity) return undefined;
      const now = Date.now();
      await trx
        .updateTable('identities')
        .set({ updated_at: now, ...(changes.meta !== undefined ? { meta: JSON.stringify(changes.meta) } : {}) })
        .where('id', '=', identity.id)
        .execute();
      const ratelimits =
        changes.ratelimits !== undefined
          ? await replaceRatelimits(trx, workspaceId, { identityId: identity.id }, changes.ratelimits, now)
          : identity.ratelimits;
      return { ...identity, meta: changes.meta ?? identity.meta, ratelimits };
    });
  }

  /** Soft delete; returns the deleted identity's id, or undefined when there was none. */
  async delete(workspaceId: string, idOrExternalId: string): Promise<string | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const identity = await this.find(workspaceId, idOrExternalId, trx);
      if (!identity) return undefined;
      await trx.updateTable('identities').set({ deleted_at: Date.now() }).where('id', '=', identity.id).execute();
      return identity.id;
    });
  }

  private async withRatelimits(
    rows: { id: string; workspace_id: string; external_id: string; meta: string }[],
    db: Executor = this.db,
  ): Promise<Identity[]> {
    if (rows.length === 0) return [];
    const limits = await db
      .selectFrom('ratelimits')
      .selectAll()
      .where('identity_id', 'in', rows.map((r) => r.id))
      .orderBy('created_at')
      .orderBy('name')
      .execute();
    const byIdentity = new Map<string, RatelimitConfig[]>();
    for (const l of limits) {
      const list = byIdentity.get(l.identity_id!) ?? [];
      list.push(toRatelimitConfig(l));
      byIdentity.set(l.identity_id!, list);
    }
    return rows.map((r) => ({
      id: r.id,
      workspaceId: r.workspace_id,
      externalId: r.external_id,
      meta: JSON.parse(r.meta),
      ratelimits: byIdentity.get(r.id) ?? [],
    }));
  }
}
