import { createHash } from 'node:crypto';

/**
 * A workspace id as a 64-bit number: the first eight bytes of the MD5 of its UTF-8 text, read as a signed
 * big-endian integer. PostgreSQL indexes raw events by (workspace key, time) rather than (workspace id,
 * time): a fixed-width key costs the index insert of every event less than a text comparison does. Two
 * workspaces may share a key; every query also compares the workspace id itself, so a shared key only
 * means reading the other's rows to discard them. The same number in SQL: see workspaceKeySql.
 */
export function workspaceKeyBytes(workspaceId: string): Buffer {
  return createHash('md5').update(workspaceId, 'utf8').digest().subarray(0, 8);
}

export function workspaceKey(workspaceId: string): bigint {
  return workspaceKeyBytes(workspaceId).readBigInt64BE(0);
}

/** workspaceKey in PostgreSQL, of the text column or expression `text`. */
export function workspaceKeySql(text: string): string {
  return `('x' || left(md5(${text}), 16))::bit(64)::bigint`;
}
