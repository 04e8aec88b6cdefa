/**
 * Row types of every table. Times are unix milliseconds; booleans are stored as 0/1 integers and
 * JSON as text, so the same queries run unchanged on SQLite and PostgreSQL.
 */
export interface WorkspacesTable {
  id: string;
  name: string;
  created_at: number;
}

export interface RootKeysTable {
  id: string;
  workspace_id: string;
  hash: string;
  start: string;
  name: string | null;
  /** JSON array of permission tuples such as `api.*.create_key`. */
  permissions: string;
  created_at: number;
  deleted_at: number | null;
}

export interface KeyspacesTable {
  id: string;
  workspace_id: string;
  default_prefix: string | null;
  default_bytes: number | null;
  created_at: number;
}

export interface ApisTable {
  id: string;
  workspace_id: string;
  name: string;
  keyspace_id: string;
  delete_protection: number;
  created_at: number;
  updated_at: number | null;
  deleted_at: number | null;
}

export interface IdentitiesTable {
  id: string;
  workspace_id: string;
  external_id: string;
  /** JSON object text. */
  meta: string;
  created_at: number;
  updated_at: number | null;
  deleted_at: number | null;
}

/** Rate-limit configurations, owned by exactly one of an identity or a key. */
export interface RatelimitsTable {
  id: string;
  workspace_id: string;
  name: string;
  identity_id: string | null;
  key_id: string | null;
  limit: number;
  duration: number;
  auto_apply: number;
  created_at: number;
  updated_at: number | null;
}

export interface KeysTable {
  id: string;
  workspace_id: string;
  keyspace_id: string;
  /** base64 SHA-256 of the key; the plaintext is never stored. */
  hash: string;
  start: string;
  name: string | null;
  identity_id: string | null;
  /** JSON object text, or NULL for none. */
  meta: string | null;
  expires: number | null;
  enabled: number;
  remaining: number | null;
  refill_amount: number | null;
  refill_day: number | null;
  last_refill_at: number | null;
  pending_migration_id: string | null;
  created_at: number;
  updated_at: number | null;
  deleted_at: number | null;
}

export interface KeyMigrationsTable {
  id: string;
  workspace_id: string;
  algorithm: string;
  created_at: number;
}

export interface Database {
  workspaces: WorkspacesTable;
  root_keys: RootKeysTable;
  keyspaces: KeyspacesTable;
  apis: ApisTable;
  identities: IdentitiesTable;
  ratelimits: RatelimitsTable;
  keys: KeysTable;
  key_migrations: KeyMigrationsTable;
}
