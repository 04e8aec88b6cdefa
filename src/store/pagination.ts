import type { Page } from '../core/model.ts';

/** Turns `limit + 1` rows ordered by id into a page: the extra row's id is the next cursor. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  if (rows.length > limit) return { items: rows.slice(0, limit), cursor: rows[limit].id };
  return { items: rows };
}

/** A LIKE pattern matching `text` as a literal substring: `%`, `_` and `\` lose their meaning. */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
