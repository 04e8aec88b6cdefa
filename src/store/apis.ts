import type { Db } from './connection.ts';
import { newId } from '../core/ids.ts';

export interface Api {
  id: string;
  workspaceId: string;
  name: string;
  keyspaceId: string;
  deleteProtection: boolean;
  createdAt: number;
}

export class ApiStore {
  constructor(private readonly db: Db) {}

  /** Every API owns exactly one keyspace, which holds its keys. */
  async create(workspaceId: string, name: string): Promise<Api> {
    const now = Date.now();
    const api: Api = {
      id: newId('api'),
      workspaceId,
      name,
      keyspaceId: newId('ks'),
      deleteProtection: false,
      createdAt: now,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('keyspaces')
        .values({ id: api.keyspaceId, workspace_id: workspaceId, default_prefix: null, default_bytes: null, created_at: now })
        .execute();
      await trx
        .insertInto('apis')
        .values({
          id: api.id,
          workspace_id: workspaceId,
          name,
          keyspace_id: api.keyspaceId,
          delete_protection: 0,
          created_at: now,
          updated_at: null,
          deleted_at: null,
        })
        .execute();
    });
    return api;
  }

  /** A live API of this workspace; deleted APIs and other workspaces' APIs do not exist here. */
  async get(workspaceId: string, apiId: string): Promise<Api | undefined> {
    const row = await this.db
      .selectFrom('apis')
      .selectAll()
      .where('id', '=', apiId)
      .where('workspace_id', '=', workspaceId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        workspaceId: row.workspace_id,
        name: row.name,
        keyspaceId: row.keyspace_id,
        deleteProtection: row.delete_protection === 1,
        createdAt: row.created_at,
      }
    );
  }

  async softDelete(workspaceId: string, apiId: string): Promise<boolean> {
    const res = await this.db
      .updateTable('apis')
      .set({ deleted_at: Date.now() })
      .where('id', '=', apiId)
      .where('workspace_id', '=', workspaceId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async setDeleteProtection(workspaceId: string, apiId: string, on: boolean): Promise<void> {
    await this.db
      .updateTable('apis')
      .set({ delete_protection: on ? 1 : 0, updated_at: Date.now() })
      .where('id', '=', apiId)
      .where('workspace_id', '=', workspaceId)
      .execute();
  }
}
