/** Calendar arithmetic on unix ms, all in UTC, for values known before a query runs. */

export type TimeUnit = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

export function startOf(unit: TimeUnit, ms: number): number {
  const d = new Date(ms);
  switch (unit) {
    case 'minute':
      return Math.floor(ms / 60_000) * 60_000;
    case 'hour':
      return Math.floor(ms / 3_600_000) * 3_600_000;
    case 'day':
      return Math.floor(ms / 86_400_000) * 86_400_000;
    case 'week': {
      const day = Math.floor(ms / 86_400_000);
      return (day - (((day + 4) % 7) + 7) % 7) * 86_400_000;
    }
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case 'year':
      return Date.UTC(d.getUTCFullYear(), 0, 1);
  }
}

/** `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (optionally with fractions), as UTC. */
export function parseDateTime(text: string): number | undefined {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?Z?\s*$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), +((m[7] ?? '0').padEnd(3, '0')));
  return Number.isNaN(ms) ? undefined : ms;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

export function formatDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${formatDate(ms)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
