import { sql } from 'kysely';
import type { Backend, Db } from './connection.ts';
import { PreparedQueries } from './prepared.ts';
import { isUniqueViolation } from './connection.ts';
import { newId } from '../core/ids.ts';
import type { Page } from '../core/model.ts';
import { containsPattern, toPage } from './pagination.ts';
import type { PermissionsTable, RolesTable } from './schema.ts';

export interface Permission {
  id: string;
  name: string;
  slug: string;
  description?: string;
  createdAt: number;
}

export interface Role {
  id: string;
  name: string;
  description?: string;
  permissions: Permission[];
  createdAt: number;
}

/** What a key holds through RBAC: the slugs of its direct and role permissions, and its role names. */
export interface KeyAccess {
  permissions: string[];
  roles: string[];
}

export class PermissionExistsError extends Error {}
export class RoleExistsError extends Error {}

/** A permission or role named in a request does not exist in the workspace. */
export class UnknownRbacReferenceError extends Error {
  constructor(
    readonly kind: 'permission' | 'role',
    readonly reference: string,
  ) {
    super(`${kind} '${reference}' does not exist`);
  }
}

type Executor = Pick<Db, 'selectFrom' | 'insertInto' | 'updateTable' | 'deleteFrom'>;

/** Direct permission slugs (role NULL) and, per role, its name with each of its slugs (slug NULL for none). */
const ACCESS_OF_KEY = `SELECT p.slug AS slug, NULL AS role FROM keys_permissions kp
    JOIN permissions p ON p.id = kp.permission_id WHERE kp.key_id = ?
  UNION ALL
  SELECT p.slug AS slug, r.name AS role FROM keys_roles kr
    JOIN roles r ON r.id = kr.role_id
    LEFT JOIN roles_permissions rp ON rp.role_id = r.id
    LEFT JOIN permissions p ON p.id = rp.permission_id
    WHERE kr.key_id = ?`;

interface ListOptions {
  limit: number;
  cursor?: string;
  search?: string;
}

function toPermission(row: PermissionsTable): Permission {
  const permission: Permission = { id: row.id, name: row.name, slug: row.slug, createdAt: row.created_at };
  if (row.description) permission.description = row.description;
  return permission;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** Permissions, roles and their links to keys, all scoped to one workspace. */
export class RbacStore {
  private readonly prepared: PreparedQueries;

  constructor(
    private readonly db: Db,
    backend: Backend,
  ) {
    this.prepared = new PreparedQueries(db, backend);
  }

  // ---- permissions ----

  async createPermission(
    workspaceId: string,
    input: { name: string; slug: string; description?: string },
  ): Promise<Permission> {
    const row: PermissionsTable = {
      id: newId('perm'),
      workspace_id: workspaceId,
      name: input.name,
      slug: input.slug,
      description: input.description || null,
      created_at: Date.now(),
      updated_at: null,
    };
    try {
      await this.db.insertInto('permissions').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new PermissionExistsError(input.slug);
      throw err;
    }
    return toPermission(row);
  }

  /** A permission by id or, failing that, by slug. */
  async findPermission(workspaceId: string, idOrSlug: string, db: Executor = this.db): Promise<Permission | undefined> {
    const rows = await db
      .selectFrom('permissions')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where((eb) => eb.or([eb('id', '=', idOrSlug), eb('slug', '=', idOrSlug)]))
      .execute();
    const row = rows.find((r) => r.id === idOrSlug) ?? rows[0];
    return row && toPermission(row);
  }

  async listPermissions(workspaceId: string, options: ListOptions): Promise<Page<Permission>> {
    let query = this.db.selectFrom('permissions').selectAll().where('workspace_id', '=', workspaceId);
    if (options.cursor) query = query.where('id', '>=', options.cursor);
    const search = options.search?.trim();
    if (search) {
      const pattern = containsPattern(search);
      query = query.where(
        sql<boolean>`(lower(id) like ${pattern} escape '\\' or lower(name) like ${pattern} escape '\\'
          or lower(slug) like ${pattern} escape '\\' or lower(coalesce(description, '')) like ${pattern} escape '\\')`,
      );
    }
    const page = toPage(await query.orderBy('id').limit(options.limit + 1).execute(), options.limit);
    return { items: page.items.map(toPermission), cursor: page.cursor };
  }

  /** Deletes a permission from the workspace, every role and every key; returns it and the keys that held it. */
  async deletePermission(
    workspaceId: string,
    idOrSlug: string,
  ): Promise<{ permission: Permission; affectedKeyIds: string[] } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const permission = await this.findPermission(workspaceId, idOrSlug, trx);
      if (!permission) return undefined;
      const affectedKeyIds = await this.keysWithPermission(trx, permission.id);
      await trx.deleteFrom('keys_permissions').where('permission_id', '=', permission.id).execute();
      await trx.deleteFrom('roles_permissions').where('permission_id', '=', permission.id).execute();
      await trx.deleteFrom('permissions').where('id', '=', permission.id).execute();
      return { permission, affectedKeyIds };
    });
  }

  /** The slugs among these that no permission of the workspace has yet. */
  async missingSlugs(workspaceId: string, slugs: string[]): Promise<string[]> {
    const wanted = unique(slugs);
    if (wanted.length === 0) return [];
    const existing = await this.db
      .selectFrom('permissions')
      .select('slug')
      .where('workspace_id', '=', workspaceId)
      .where('slug', 'in', wanted)
      .execute();
    const found = new Set(existing.map((r) => r.slug));
    return wanted.filter((s) => !found.has(s));
  }

  /** The permissions with these slugs, creating the missing ones (named by their slug). Ordered by slug. */
  private async ensurePermissions(db: Executor, workspaceId: string, slugs: string[], now: number): Promise<Permission[]> {
    const wanted = unique(slugs);
    if (wanted.length === 0) return [];
    await db
      .insertInto('permissions')
      .values(
        wanted.map((slug) => ({
          id: newId('perm'),
          workspace_id: workspaceId,
          name: slug,
          slug,
          description: null,
          created_at: now,
          updated_at: null,
        })),
      )
      .onConflict((oc) => oc.columns(['workspace_id', 'slug']).doNothing())
      .execute();
    const rows = await db
      .selectFrom('permissions')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('slug', 'in', wanted)
      .orderBy('slug')
      .execute();
    return rows.map(toPermission);
  }

  /** Resolves ids or slugs to permissions; throws UnknownRbacReferenceError naming the first that does not exist. */
  private async resolvePermissions(db: Executor, workspaceId: string, idsOrSlugs: string[]): Promise<Permission[]> {
    const wanted = unique(idsOrSlugs);
    if (wanted.length === 0) return [];
    const rows = await db
      .selectFrom('permissions')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where((eb) => eb.or([eb('id', 'in', wanted), eb('slug', 'in', wanted)]))
      .execute();
    const known = new Set(rows.flatMap((r) => [r.id, r.slug]));
    const unknown = wanted.find((w) => !known.has(w));
    if (unknown !== undefined) throw new UnknownRbacReferenceError('permission', unknown);
    return rows.map(toPermission);
  }

  // ---- roles ----

  /** Creates a role with the given permission slugs, creating the slugs that do not exist yet. */
  async createRole(
    workspaceId: string,
    input: { name: string; description?: string; permissions: string[] },
  ): Promise<Role> {
    const now = Date.now();
    const row: RolesTable = {
      id: newId('role'),
      workspace_id: workspaceId,
      name: input.name,
      description: input.description || null,
      created_at: now,
      updated_at: null,
    };
    try {
      return await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('roles').values(row).execute();
        const permissions = await this.ensurePermissions(trx, workspaceId, input.permissions, now);
        await this.linkRolePermissions(trx, workspaceId, row.id, permissions, now);
        return { ...this.toRoleShell(row), permissions };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new RoleExistsError(input.name);
      throw err;
    }
  }

  /** A role by id or, failing that, by name, with its permissions. */
  async findRole(workspaceId: string, idOrName: string, db: Executor = this.db): Promise<Role | undefined> {
    const rows = await db
      .selectFrom('roles')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .execute();
    const row = rows.find((r) => r.id === idOrName) ?? rows[0];
    if (!row) return undefined;
    const [role] = await this.withPermissions(db, [row]);
    return role;
  }

  async listRoles(workspaceId: string, options: ListOptions): Promise<Page<Role>> {
    let query = this.db.selectFrom('roles').selectAll().where('workspace_id', '=', workspaceId);
    if (options.cursor) query = query.where('id', '>=', options.cursor);
    const search = options.search?.trim();
    if (search) {
      const pattern = containsPattern(search);
      query = query.where(
        sql<boolean>`(lower(id) like ${pattern} escape '\\' or lower(name) like ${pattern} escape '\\'
          or lower(coalesce(description, '')) like ${pattern} escape '\\')`,
      );
    }
    const page = toPage(await query.orderBy('id').limit(options.limit + 1).execute(), options.limit);
    return { items: await this.withPermissions(this.db, page.items), cursor: page.cursor };
  }

  /** Deletes a role and takes it from every key; returns it and the keys that had it. */
  async deleteRole(
    workspaceId: string,
    idOrName: string,
  ): Promise<{ role: Role; affectedKeyIds: string[] } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const role = await this.findRole(workspaceId, idOrName, trx);
      if (!role) return undefined;
      const affectedKeyIds = await this.keysWithRole(trx, role.id);
      await trx.deleteFrom('keys_roles').where('role_id', '=', role.id).execute();
      await trx.deleteFrom('roles_permissions').where('role_id', '=', role.id).execute();
      await trx.deleteFrom('roles').where('id', '=', role.id).execute();
      return { role, affectedKeyIds };
    });
  }

  /** Replaces the permissions of a role by these slugs (missing ones created); returns the role and its keys. */
  async setRolePermissions(
    workspaceId: string,
    roleId: string,
    slugs: string[],
  ): Promise<{ role: Role; affectedKeyIds: string[] } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('roles')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', roleId)
        .executeTakeFirst();
      if (!row) return undefined;
      const now = Date.now();
      const permissions = await this.ensurePermissions(trx, workspaceId, slugs, now);
      await trx.deleteFrom('roles_permissions').where('role_id', '=', roleId).execute();
      await this.linkRolePermissions(trx, workspaceId, roleId, permissions, now);
      await trx.updateTable('roles').set({ updated_at: now }).where('id', '=', roleId).execute();
      const affectedKeyIds = await this.keysWithRole(trx, roleId);
      return { role: { ...this.toRoleShell(row), permissions }, affectedKeyIds };
    });
  }

  /** Throws UnknownRbacReferenceError naming the first of these role names the workspace has no role for. */
  async assertRolesExist(workspaceId: string, names: string[]): Promise<void> {
    await this.rolesByName(this.db, workspaceId, names);
  }

  /** Resolves role names (names only, as keys refer to roles); throws UnknownRbacReferenceError for the first unknown. */
  private async rolesByName(db: Executor, workspaceId: string, names: string[]): Promise<RolesTable[]> {
    const wanted = unique(names);
    if (wanted.length === 0) return [];
    const rows = await db
      .selectFrom('roles')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('name', 'in', wanted)
      .execute();
    const known = new Set(rows.map((r) => r.name));
    const unknown = wanted.find((n) => !known.has(n));
    if (unknown !== undefined) throw new UnknownRbacReferenceError('role', unknown);
    return rows;
  }

  private toRoleShell(row: RolesTable): Omit<Role, 'permissions'> {
    const role: Omit<Role, 'permissions'> = { id: row.id, name: row.name, createdAt: row.created_at };
    if (row.description) role.description = row.description;
    return role;
  }

  private async linkRolePermissions(
    db: Executor,
    workspaceId: string,
    roleId: string,
    permissions: Permission[],
    now: number,
  ): Promise<void> {
    if (permissions.length === 0) return;
    await db
      .insertInto('roles_permissions')
      .values(
        permissions.map((p) => ({ role_id: roleId, permission_id: p.id, workspace_id: workspaceId, created_at: now })),
      )
      .onConflict((oc) => oc.columns(['role_id', 'permission_id']).doNothing())
      .execute();
  }

  private async withPermissions(db: Executor, rows: RolesTable[]): Promise<Role[]> {
    if (rows.length === 0) return [];
    const links = await db
      .selectFrom('roles_permissions')
      .innerJoin('permissions', 'permissions.id', 'roles_permissions.permission_id')
      .selectAll('permissions')
      .select('roles_permissions.role_id')
      .where(
        'roles_permissions.role_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('permissions.slug')
      .execute();
    const byRole = new Map<string, Permission[]>();
    for (const link of links) {
      const list = byRole.get(link.role_id) ?? [];
      list.push(toPermission(link));
      byRole.set(link.role_id, list);
    }
    return rows.map((r) => ({ ...this.toRoleShell(r), permissions: byRole.get(r.id) ?? [] }));
  }

  // ---- keys ----

  private async keysWithRole(db: Executor, roleId: string): Promise<string[]> {
    const rows = await db.selectFrom('keys_roles').select('key_id').where('role_id', '=', roleId).execute();
    return rows.map((r) => r.key_id);
  }

  private async keysWithPermission(db: Executor, permissionId: string): Promise<string[]> {
    const direct = await db
      .selectFrom('keys_permissions')
      .select('key_id')
      .where('permission_id', '=', permissionId)
      .execute();
    const viaRoles = await db
      .selectFrom('keys_roles')
      .innerJoin('roles_permissions', 'roles_permissions.role_id', 'keys_roles.role_id')
      .select('keys_roles.key_id')
      .where('roles_permissions.permission_id', '=', permissionId)
      .execute();
    return unique([...direct, ...viaRoles].map((r) => r.key_id));
  }

  /** The permissions assigned to a key directly (not through roles), ordered by slug. */
  async keyPermissions(keyId: string, db: Executor = this.db): Promise<Permission[]> {
    const rows = await db
      .selectFrom('keys_permissions')
      .innerJoin('permissions', 'permissions.id', 'keys_permissions.permission_id')
      .selectAll('permissions')
      .where('keys_permissions.key_id', '=', keyId)
      .orderBy('permissions.slug')
      .execute();
    return rows.map(toPermission);
  }

  /** The roles of a key with their permissions, ordered by name. */
  async keyRoles(keyId: string, db: Executor = this.db): Promise<Role[]> {
    const rows = await db
      .selectFrom('keys_roles')
      .innerJoin('roles', 'roles.id', 'keys_roles.role_id')
      .selectAll('roles')
      .where('keys_roles.key_id', '=', keyId)
      .orderBy('roles.name')
      .execute();
    return this.withPermissions(db, rows);
  }

  /** Gives a key these permission slugs (creating missing ones); returns its direct permissions afterwards. */
  async addKeyPermissions(workspaceId: string, keyId: string, slugs: string[], db?: Executor): Promise<Permission[]> {
    return this.inTransaction(db, async (trx) => {
      const now = Date.now();
      const permissions = await this.ensurePermissions(trx, workspaceId, slugs, now);
      await this.linkKeyPermissions(trx, workspaceId, keyId, permissions, now);
      return this.keyPermissions(keyId, trx);
    });
  }

  /** Takes permissions (by id or slug) from a key; unassigned ones are ignored, unknown ones are an error. */
  async removeKeyPermissions(workspaceId: string, keyId: string, idsOrSlugs: string[]): Promise<Permission[]> {
    return this.inTransaction(undefined, async (trx) => {
      const permissions = await this.resolvePermissions(trx, workspaceId, idsOrSlugs);
      if (permissions.length === 0) return this.keyPermissions(keyId, trx);
      await trx
        .deleteFrom('keys_permissions')
        .where('key_id', '=', keyId)
        .where(
          'permission_id',
          'in',
          permissions.map((p) => p.id),
        )
        .execute();
      return this.keyPermissions(keyId, trx);
    });
  }

  /** Replaces the direct permissions of a key by these slugs (creating missing ones). */
  async setKeyPermissions(workspaceId: string, keyId: string, slugs: string[], db?: Executor): Promise<Permission[]> {
    return this.inTransaction(db, async (trx) => {
      const now = Date.now();
      const permissions = await this.ensurePermissions(trx, workspaceId, slugs, now);
      await trx.deleteFrom('keys_permissions').where('key_id', '=', keyId).execute();
      await this.linkKeyPermissions(trx, workspaceId, keyId, permissions, now);
      return permissions;
    });
  }

  /** Gives a key these roles (by name); returns its roles afterwards. */
  async addKeyRoles(workspaceId: string, keyId: string, names: string[], db?: Executor): Promise<Role[]> {
    return this.inTransaction(db, async (trx) => {
      const roles = await this.rolesByName(trx, workspaceId, names);
      await this.linkKeyRoles(trx, workspaceId, keyId, roles, Date.now());
      return this.keyRoles(keyId, trx);
    });
  }

  /** Takes roles (by name) from a key; unassigned ones are ignored, unknown ones are an error. */
  async removeKeyRoles(workspaceId: string, keyId: string, names: string[]): Promise<Role[]> {
    return this.inTransaction(undefined, async (trx) => {
      const roles = await this.rolesByName(trx, workspaceId, names);
      if (roles.length === 0) return this.keyRoles(keyId, trx);
      await trx
        .deleteFrom('keys_roles')
        .where('key_id', '=', keyId)
        .where(
          'role_id',
          'in',
          roles.map((r) => r.id),
        )
        .execute();
      return this.keyRoles(keyId, trx);
    });
  }

  /** Replaces the roles of a key by these (by name). */
  async setKeyRoles(workspaceId: string, keyId: string, names: string[], db?: Executor): Promise<Role[]> {
    return this.inTransaction(db, async (trx) => {
      const roles = await this.rolesByName(trx, workspaceId, names);
      await trx.deleteFrom('keys_roles').where('key_id', '=', keyId).execute();
      await this.linkKeyRoles(trx, workspaceId, keyId, roles, Date.now());
      return this.keyRoles(keyId, trx);
    });
  }

  /** Permission slugs (direct ∪ via roles, deduplicated, sorted) and role names of each key. */
  async keyAccess(keyIds: string[], db: Executor = this.db): Promise<Map<string, KeyAccess>> {
    const result = new Map<string, KeyAccess>();
    if (keyIds.length === 0) return result;
    const direct = await db
      .selectFrom('keys_permissions')
      .innerJoin('permissions', 'permissions.id', 'keys_permissions.permission_id')
      .select(['keys_permissions.key_id', 'permissions.slug'])
      .where('keys_permissions.key_id', 'in', keyIds)
      .execute();
    const roles = await db
      .selectFrom('keys_roles')
      .innerJoin('roles', 'roles.id', 'keys_roles.role_id')
      .leftJoin('roles_permissions', 'roles_permissions.role_id', 'roles.id')
      .leftJoin('permissions', 'permissions.id', 'roles_permissions.permission_id')
      .select(['keys_roles.key_id', 'roles.name', 'permissions.slug'])
      .where('keys_roles.key_id', 'in', keyIds)
      .execute();
    const sets = new Map<string, { permissions: Set<string>; roles: Set<string> }>();
    const entry = (keyId: string) => {
      let e = sets.get(keyId);
      if (!e) sets.set(keyId, (e = { permissions: new Set(), roles: new Set() }));
      return e;
    };
    for (const row of direct) entry(row.key_id).permissions.add(row.slug);
    for (const row of roles) {
      const e = entry(row.key_id);
      e.roles.add(row.name);
      if (row.slug !== null) e.permissions.add(row.slug);
    }
    for (const keyId of keyIds) {
      const e = sets.get(keyId);
      result.set(keyId, {
        permissions: e ? [...e.permissions].sort() : [],
        roles: e ? [...e.roles].sort() : [],
      });
    }
    return result;
  }

  /** The hashes of these keys, which the verification cache is keyed by. */
  async keyHashes(keyIds: string[]): Promise<string[]> {
    if (keyIds.length === 0) return [];
    const rows = await this.db.selectFrom('keys').select('hash').where('id', 'in', keyIds).execute();
    return rows.map((r) => r.hash);
  }

  /** Gives a new key the direct permissions and roles of another, as a reroll does. */
  async copyKeyLinks(fromKeyId: string, toKeyId: string, db: Executor = this.db): Promise<void> {
    const now = Date.now();
    const permissions = await db.selectFrom('keys_permissions').selectAll().where('key_id', '=', fromKeyId).execute();
    if (permissions.length > 0) {
      await db
        .insertInto('keys_permissions')
        .values(permissions.map((l) => ({ ...l, key_id: toKeyId, created_at: now })))
        .onConflict((oc) => oc.columns(['key_id', 'permission_id']).doNothing())
        .execute();
    }
    const roles = await db.selectFrom('keys_roles').selectAll().where('key_id', '=', fromKeyId).execute();
    if (roles.length > 0) {
      await db
        .insertInto('keys_roles')
        .values(roles.map((l) => ({ ...l, key_id: toKeyId, created_at: now })))
        .onConflict((oc) => oc.columns(['key_id', 'role_id']).doNothing())
        .execute();
    }
  }

  /**
   * What one key holds, in a single prepared statement: the read a verification cache miss makes.
   * Not for use inside a transaction (see PreparedQueries); keyAccess takes the transaction instead.
   */
  async accessOfKey(keyId: string): Promise<KeyAccess> {
    const rows = await this.prepared.rows<{ slug: string | null; role: string | null }>(ACCESS_OF_KEY, [keyId, keyId]);
    const permissions = new Set<string>();
    const roles = new Set<string>();
    for (const row of rows) {
      if (row.slug !== null) permissions.add(row.slug);
      if (row.role !== null) roles.add(row.role);
    }
    return { permissions: [...permissions].sort(), roles: [...roles].sort() };
  }

  /** Forgets every permission and role link of a key, for when the key itself is removed for good. */
  async removeKey(keyId: string, db: Executor = this.db): Promise<void> {
    await db.deleteFrom('keys_permissions').where('key_id', '=', keyId).execute();
    await db.deleteFrom('keys_roles').where('key_id', '=', keyId).execute();
  }

  private async linkKeyPermissions(
    db: Executor,
    workspaceId: string,
    keyId: string,
    permissions: Permission[],
    now: number,
  ): Promise<void> {
    if (permissions.length === 0) return;
    await db
      .insertInto('keys_permissions')
      .values(permissions.map((p) => ({ key_id: keyId, permission_id: p.id, workspace_id: workspaceId, created_at: now })))
      .onConflict((oc) => oc.columns(['key_id', 'permission_id']).doNothing())
      .execute();
  }

  private async linkKeyRoles(
    db: Executor,
    workspaceId: string,
    keyId: string,
    roles: RolesTable[],
    now: number,
  ): Promise<void> {
    if (roles.length === 0) return;
    await db
      .insertInto('keys_roles')
      .values(roles.map((r) => ({ key_id: keyId, role_id: r.id, workspace_id: workspaceId, created_at: now })))
      .onConflict((oc) => oc.columns(['key_id', 'role_id']).doNothing())
      .execute();
  }

  /** Runs `work` in the caller's transaction when given one, else in a new transaction. */
  private inTransaction<T>(db: Executor | undefined, work: (trx: Executor) => Promise<T>): Promise<T> {
    return db ? work(db) : this.db.transaction().execute(work);
  }
}
