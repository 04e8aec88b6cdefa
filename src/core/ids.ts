import { randomBytes } from 'node:crypto';

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 16;

// Random bytes are drawn in bulk: one syscall serves many ids on hot paths such as request ids.
let pool = Buffer.alloc(0);
let offset = 0;

function nextByte(): number {
  if (offset >= pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  return pool[offset++];
}

/** Random alphanumeric string; rejection sampling keeps the distribution uniform. */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    const b = nextByte();
    if (b < 248) out += ALPHANUM[b % 62];
  }
  return out;
}

export type IdPrefix =
  | 'req' | 'ws' | 'api' | 'ks' | 'key' | 'id' | 'rl' | 'perm' | 'role' | 'rlns' | 'rlor' | 'mig';

/** `<prefix>_<16 alphanumerics>`: about 95 bits of randomness, so collisions are not a practical concern. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomAlphanumeric(ID_LENGTH)}`;
}
