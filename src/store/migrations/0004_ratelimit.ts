import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ratelimit_namespaces')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint')
    .addColumn('deleted_at', 'bigint')
    .execute();
  // A deleted namespace keeps its row (limit calls on it answer 410) but no longer holds its name.
  await db.schema
    .createIndex('ratelimit_namespaces_live_name')
    .on('ratelimit_namespaces')
    .columns(['workspace_id', 'name'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();

  await db.schema
    .createTable('ratelimit_overrides')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('namespace_id', 'text', (c) => c.notNull().references('ratelimit_namespaces.id'))
    .addColumn('identifier', 'text', (c) => c.notNull())
    .addColumn('limit', 'bigint', (c) => c.notNull())
    .addColumn('duration', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint')
    .addColumn('deleted_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('ratelimit_overrides_live_identifier')
    .on('ratelimit_overrides')
    .columns(['namespace_id', 'identifier'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('ratelimit_overrides_namespace')
    .on('ratelimit_overrides')
    .columns(['namespace_id', 'id'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only');
}
