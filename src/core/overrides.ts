/**
 * Which override applies to an identifier. An override whose identifier equals the request's wins;
 * otherwise the most specific matching wildcard pattern (most literal characters, then the oldest) wins.
 * `*` matches any run of characters, including none.
 */

export interface Override {
  id: string;
  /** The identifier, or a pattern with `*` wildcards. */
  identifier: string;
  limit: number;
  duration: number;
  createdAt: number;
}

export interface OverrideIndex {
  exact: Map<string, Override>;
  /** Wildcard overrides, best first. */
  wildcards: { override: Override; pattern: RegExp }[];
}

export function isPattern(identifier: string): boolean {
  return identifier.includes('*');
}

function patternToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${body}$`);
}

export function matchesPattern(pattern: string, identifier: string): boolean {
  return patternToRegExp(pattern).test(identifier);
}

function literalLength(pattern: string): number {
  return pattern.length - pattern.split('*').length + 1;
}

/** Prepares overrides for lookups: done once per load, so each lookup is a map hit or a few regex tests. */
export function indexOverrides(overrides: Override[]): OverrideIndex {
  const exact = new Map<string, Override>();
  const wildcards: Override[] = [];
  for (const o of overrides) {
    if (isPattern(o.identifier)) wildcards.push(o);
    else exact.set(o.identifier, o);
  }
  wildcards.sort(
    (a, b) =>
      literalLength(b.identifier) - literalLength(a.identifier) ||
      a.createdAt - b.createdAt ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return { exact, wildcards: wildcards.map((override) => ({ override, pattern: patternToRegExp(override.identifier) })) };
}

export function findOverride(index: OverrideIndex, identifier: string): Override | undefined {
  const exact = index.exact.get(identifier);
  if (exact) return exact;
  for (const w of index.wildcards) if (w.pattern.test(identifier)) return w.override;
  return undefined;
}
