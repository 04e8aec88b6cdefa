/**
 * The visible beginning of a key: its prefix (up to the last `_`) and the first 4 characters after it,
 * as createKey stores it. Used when an imported key is first verified and its plaintext is seen once.
 */
export function keyStart(key: string): string {
  const cut = key.lastIndexOf('_');
  return cut >= 0 ? key.slice(0, cut + 5) : key.slice(0, 4);
}
