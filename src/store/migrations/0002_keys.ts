import { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('keyspace_id', 'text', (c) => c.notNull().references('keyspaces.id'))
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('start', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('identity_id', 'text')
    .addColumn('meta', 'text')
    .addColumn('expires', 'bigint')
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    // NULL remaining = unlimited. refill_day NULL with an amount = daily refill, else monthly on that day.
    .addColumn('remaining', 'bigint')
    .addColumn('refill_amount', 'bigint')
    .addColumn('refill_day', 'integer')
    // The refill boundary last applied; refills are applied lazily, comparing it with the latest boundary.
    .addColumn('last_refill_at', 'bigint')
    .addColumn('pending_migration_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint')
    .addColumn('deleted_at', 'bigint')
    .execute();
  await db.schema.createIndex('keys_keyspace').on('keys').columns(['keyspace_id', 'id']).execute();
  await db.schema.createIndex('keys_identity').on('keys').columns(['identity_id', 'id']).execute();

  await db.schema
    .createTable('key_migrations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only');
}
