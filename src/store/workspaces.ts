import type { Db } from './connection.ts';
import { newId } from '../core/ids.ts';
import { generateKey } from '../core/hash.ts';

export interface Workspace {
  id: string;
  name: string;
  createdAt: number;
}

export interface RootKey {
  id: string;
  workspaceId: string;
  permissions: string[];
}

export class WorkspaceStore {
  constructor(private readonly db: Db) {}

  async create(name: string): Promise<Workspace> {
    const row = { id: newId('ws'), name, created_at: Date.now() };
    await this.db.insertInto('workspaces').values(row).execute();
    return { id: row.id, name: row.name, createdAt: row.created_at };
  }

  async get(id: string): Promise<Workspace | undefined> {
    const row = await this.db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { id: row.id, name: row.name, createdAt: row.created_at };
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('workspaces')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

export class RootKeyStore {
  constructor(private readonly db: Db) {}

  /** Creates a root key; the plaintext is returned here once and never stored. */
  async create(
    workspaceId: string,
    permissions: string[],
    name?: string,
  ): Promise<{ keyId: string; key: string }> {
    const generated = generateKey('lk_root', 24);
    const id = newId('key');
    await this.db
      .insertInto('root_keys')
      .values({
        id,
        workspace_id: workspaceId,
        hash: generated.hash,
        start: generated.start,
        name: name ?? null,
        permissions: JSON.stringify(permissions),
        created_at: Date.now(),
        deleted_at: null,
      })
      .execute();
    return { keyId: id, key: generated.key };
  }

  async findByHash(hash: string): Promise<RootKey | undefined> {
    const row = await this.db
      .selectFrom('root_keys')
      .select(['id', 'workspace_id', 'permissions'])
      .where('hash', '=', hash)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row && { id: row.id, workspaceId: row.workspace_id, permissions: JSON.parse(row.permissions) };
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const res = await this.db
      .updateTable('root_keys')
      .set({ deleted_at: Date.now() })
      .where('id', '=', id)
      .where('workspace_id', '=', workspaceId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}
