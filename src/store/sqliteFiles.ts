/**
 * How a SQLite store is laid out on disk. The main file holds everything but verification analytics,
 * which live in a second file attached to every connection of the store under ANALYTICS_SCHEMA; unqualified
 * table names reach it through the attachment, as no main table shares a name.
 */

export const ANALYTICS_SCHEMA = 'analytics';

/** An always-empty table of the main file: a transaction deletes nothing from it to take that file's write lock. */
export const WRITE_LOCK_TABLE = 'write_lock';

/** The file holding verification events and their rollups, next to the main file. */
export function analyticsPath(path: string): string {
  return path === ':memory:' ? path : `${path}-analytics`;
}

/** Every file a store at `path` may use: both databases and their write-ahead logs. */
export function storeFiles(path: string): string[] {
  return [path, analyticsPath(path)].flatMap((file) => [file, `${file}-wal`, `${file}-shm`]);
}
