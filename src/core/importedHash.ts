/**
 * Keys imported from another system arrive as the SHA-256 digest of the plaintext, hex or base64
 * encoded. Stored as base64 (the form every verification computes), they verify at once.
 * Returns undefined for anything that is not a SHA-256 digest.
 */
export function normaliseSha256(hash: string): string | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(hash)) return Buffer.from(hash, 'hex').toString('base64');
  if (/^[A-Za-z0-9+/]{43}=$/.test(hash)) return hash;
  return undefined;
}
