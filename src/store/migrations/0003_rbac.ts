import type { Kysely } from 'kysely';

/**
 * Permissions and roles of a workspace, and their links to roles and keys. `key_id` has no foreign key: the keys
 * table belongs to another migration, and links of a permanently deleted key are removed by the key store.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('permissions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint')
    .addUniqueConstraint('permissions_workspace_slug', ['workspace_id', 'slug'])
    .execute();
  await db.schema.createIndex('permissions_workspace').on('permissions').columns(['workspace_id', 'id']).execute();

  await db.schema
    .createTable('roles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint')
    .addUniqueConstraint('roles_workspace_name', ['workspace_id', 'name'])
    .execute();
  await db.schema.createIndex('roles_workspace').on('roles').columns(['workspace_id', 'id']).execute();

  await db.schema
    .createTable('roles_permissions')
    .addColumn('role_id', 'text', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addColumn('permission_id', 'text', (c) => c.notNull().references('permissions.id').onDelete('cascade'))
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('roles_permissions_pk', ['role_id', 'permission_id'])
    .execute();
  await db.schema.createIndex('roles_permissions_permission').on('roles_permissions').columns(['permission_id']).execute();

  await db.schema
    .createTable('keys_permissions')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('permission_id', 'text', (c) => c.notNull().references('permissions.id').onDelete('cascade'))
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('keys_permissions_pk', ['key_id', 'permission_id'])
    .execute();
  await db.schema.createIndex('keys_permissions_permission').on('keys_permissions').columns(['permission_id']).execute();

  await db.schema
    .createTable('keys_roles')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('role_id', 'text', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('keys_roles_pk', ['key_id', 'role_id'])
    .execute();
  await db.schema.createIndex('keys_roles_role').on('keys_roles').columns(['role_id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only');
}
