import { hash, randomBytes } from 'node:crypto';

/** How every key (root or customer) is stored: base64 of its SHA-256, never the plaintext. */
export function hashKey(key: string): string {
  // The one-shot form: every verification hashes twice (root key and key), and this is twice as fast.
  return hash('sha256', key, 'base64');
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function base58(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = BASE58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}

export interface GeneratedKey {
  key: string;
  /** The visible beginning of the key: prefix plus the first 4 characters of the random part. */
  start: string;
  hash: string;
}

export function generateKey(prefix: string | undefined, byteLength: number): GeneratedKey {
  const body = base58(randomBytes(byteLength));
  const head = prefix ? `${prefix}_` : '';
  const key = head + body;
  return { key, start: head + body.slice(0, 4), hash: hashKey(key) };
}
