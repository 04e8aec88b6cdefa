import type { Db } from './connection.ts';
import { isUniqueViolation } from './connection.ts';
import { newId } from '../core/ids.ts';
import type { Page } from '../core/model.ts';
import type { Override } from '../core/overrides.ts';
import { toPage } from './pagination.ts';
import type { RatelimitNamespacesTable, RatelimitOverridesTable } from './schema.ts';

export interface Namespace {
  id: string;
  workspaceId: string;
  name: string;
  createdAt: number;
  /** Set when the namespace was deleted: limit calls on it are refused. */
  deletedAt?: number;
}

export interface OverrideInput {
  identifier: string;
  limit: number;
  duration: number;
}

function toNamespace(row: RatelimitNamespacesTable): Namespace {
  const ns: Namespace = { id: row.id, workspaceId: row.workspace_id, name: row.name, createdAt: row.created_at };
  if (row.deleted_at !== null) ns.deletedAt = row.deleted_at;
  return ns;
}

function toOverride(row: RatelimitOverridesTable): Override {
  return { id: row.id, identifier: row.identifier, limit: row.limit, duration: row.duration, createdAt: row.created_at };
}

/** Rate-limit namespaces and their overrides. Every query is scoped to one workspace. */
export class RatelimitStore {
  constructor(private readonly db: Db) {}

  /**
   * Finds a namespace by id or name: a live one first (the id before the name), else a deleted one,
   * so the caller can tell "never existed" from "deleted".
   */
  async findNamespace(workspaceId: string, idOrName: string): Promise<Namespace | undefined> {
    const rows = await this.db
      .selectFrom('ratelimit_namespaces')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .execute();
    const rank = (r: RatelimitNamespacesTable) => (r.deleted_at === null ? 0 : 2) + (r.id === idOrName ? 0 : 1);
    rows.sort((a, b) => rank(a) - rank(b) || b.created_at - a.created_at);
    return rows[0] && toNamespace(rows[0]);
  }

  /** Creates a namespace; when another request created the same name first, returns that one. */
  async createNamespace(workspaceId: string, name: string): Promise<Namespace> {
    const row: RatelimitNamespacesTable = {
      id: newId('rlns'),
      workspace_id: workspaceId,
      name,
      created_at: Date.now(),
      updated_at: null,
      deleted_at: null,
    };
    try {
      await this.db.insertInto('ratelimit_namespaces').values(row).execute();
      return toNamespace(row);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const existing = await this.findNamespace(workspaceId, name);
      if (!existing || existing.deletedAt !== undefined) throw err;
      return existing;
    }
  }

  async listNamespaces(workspaceId: string): Promise<Namespace[]> {
    const rows = await this.db
      .selectFrom('ratelimit_namespaces')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('deleted_at', 'is', null)
      .orderBy('name')
      .execute();
    return rows.map(toNamespace);
  }

  /** Soft delete of a live namespace found by id or name; returns it, or undefined when there is none. */
  async deleteNamespace(workspaceId: string, idOrName: string): Promise<Namespace | undefined> {
    const ns = await this.findNamespace(workspaceId, idOrName);
    if (!ns || ns.deletedAt !== undefined) return undefined;
    const now = Date.now();
    await this.db
      .updateTable('ratelimit_namespaces')
      .set({ deleted_at: now, updated_at: now })
      .where('id', '=', ns.id)
      .where('deleted_at', 'is', null)
      .execute();
    return { ...ns, deletedAt: now };
  }

  /** Every live override of a namespace. */
  async overrides(workspaceId: string, namespaceId: string): Promise<Override[]> {
    const rows = await this.db
      .selectFrom('ratelimit_overrides')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('namespace_id', '=', namespaceId)
      .where('deleted_at', 'is', null)
      .execute();
    return rows.map(toOverride);
  }

  /** Creates or updates the override of one identifier; the same identifier keeps its id. */
  async setOverride(workspaceId: string, namespaceId: string, input: OverrideInput): Promise<Override> {
    for (let attempt = 0; ; attempt++) {
      const existing = await this.getOverride(workspaceId, namespaceId, input.identifier);
      const now = Date.now();
      if (existing) {
        await this.db
          .updateTable('ratelimit_overrides')
          .set({ limit: input.limit, duration: input.duration, updated_at: now })
          .where('id', '=', existing.id)
          .execute();
        return { ...existing, limit: input.limit, duration: input.duration };
      }
      const row: RatelimitOverridesTable = {
        id: newId('rlor'),
        workspace_id: workspaceId,
        namespace_id: namespaceId,
        identifier: input.identifier,
        limit: input.limit,
        duration: input.duration,
        created_at: now,
        updated_at: null,
        deleted_at: null,
      };
      try {
        await this.db.insertInto('ratelimit_overrides').values(row).execute();
        return toOverride(row);
      } catch (err) {
        // A concurrent call inserted the same identifier first: update that row instead.
        if (!isUniqueViolation(err) || attempt > 0) throw err;
      }
    }
  }

  async getOverride(workspaceId: string, namespaceId: string, identifier: string): Promise<Override | undefined> {
    const row = await this.db
      .selectFrom('ratelimit_overrides')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('namespace_id', '=', namespaceId)
      .where('identifier', '=', identifier)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row && toOverride(row);
  }

  async listOverrides(
    workspaceId: string,
    namespaceId: string,
    options: { limit: number; cursor?: string },
  ): Promise<Page<Override>> {
    let query = this.db
      .selectFrom('ratelimit_overrides')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('namespace_id', '=', namespaceId)
      .where('deleted_at', 'is', null);
    if (options.cursor) query = query.where('id', '>=', options.cursor);
    const rows = await query.orderBy('id').limit(options.limit + 1).execute();
    const page = toPage(rows, options.limit);
    return { items: page.items.map(toOverride), cursor: page.cursor };
  }

  /** Soft delete; returns false when there was no such live override. */
  async deleteOverride(workspaceId: string, namespaceId: string, identifier: string): Promise<boolean> {
    const now = Date.now();
    const res = await this.db
      .updateTable('ratelimit_overrides')
      .set({ deleted_at: now, updated_at: now })
      .where('workspace_id', '=', workspaceId)
      .where('namespace_id', '=', namespaceId)
      .where('identifier', '=', identifier)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}
