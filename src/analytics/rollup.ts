import type { EventColumns } from './columns.ts';

export const GRANULARITIES = ['minute', 'hour', 'day', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** Start of the bucket holding `time`, in unix ms (UTC). */
export function bucketStart(granularity: Granularity, time: number): number {
  switch (granularity) {
    case 'minute':
      return time - (((time % 60_000) + 60_000) % 60_000);
    case 'hour':
      return time - (((time % 3_600_000) + 3_600_000) % 3_600_000);
    case 'day':
      return time - (((time % 86_400_000) + 86_400_000) % 86_400_000);
    case 'month': {
      const d = new Date(time);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  }
}

/** Tags as a rollup dimension: the same set of tags always lands in the same row, whatever order they came in. */
export function canonicalTags(tags: string[]): string[] {
  if (tags.length < 2) return tags.slice();
  return [...new Set(tags)].sort();
}

// Cannot occur in tags as the API accepts them.
const TAG_SEP = '\u0001';
const NO_KEY = '\u0000';

/**
 * One rollup row of a batch: the bucket, the counts to add to it, and the index in the batch of an event
 * whose workspace, keyspace, key, identity, externalId and outcome are the row's.
 */
export interface RollupSum {
  at: number;
  time: number;
  /** Canonical tags, and the same joined into one string. */
  tags: string[];
  tagKey: string;
  count: number;
  spent: number;
}

export type BatchRollups = Record<Granularity, RollupSum[]>;

function sameDimensions(c: EventColumns, a: number, b: number): boolean {
  return (
    a === b ||
    (c.identityId[a] === c.identityId[b] &&
      c.externalId[a] === c.externalId[b] &&
      c.outcome[a] === c.outcome[b] &&
      c.keySpaceId[a] === c.keySpaceId[b] &&
      c.workspaceId[a] === c.workspaceId[b])
  );
}

/** A key's sums in a batch for one set of tags, per granularity. */
type KeySums = Record<Granularity, RollupSum[]>;

function findOrAdd(c: EventColumns, list: RollupSum[], at: number, time: number, tagKey: string, tags: string[], out: RollupSum[]): RollupSum {
  for (let j = 0; j < list.length; j++) {
    const s = list[j];
    if (s.time === time && sameDimensions(c, s.at, at)) return s;
  }
  const sum: RollupSum = { at, time, tags, tagKey, count: 0, spent: 0 };
  list.push(sum);
  out.push(sum);
  return sum;
}

/**
 * What a batch of events adds to each rollup table. Sums are found by key id and tags, then by a short scan:
 * a key's events in one batch almost always share their identity, outcome and buckets, so the scan is over
 * one or two sums and no composite string is built and hashed per event (with 200,000 distinct keys in a
 * batch, that cost more than the SQL). A minute sum remembers its hour, day and month sums, so an event adds
 * to all four without looking them up.
 */
export function rollupBatch(c: EventColumns): BatchRollups {
  const out: BatchRollups = { minute: [], hour: [], day: [], month: [] };
  const byKey = new Map<string, Map<string, KeySums>>();
  const parents = new Map<RollupSum, RollupSum[]>();
  // Events of a batch mostly fall in one minute: its buckets are remembered rather than recomputed.
  let lastTime = NaN;
  let buckets = [0, 0, 0, 0];
  const n = c.time.length;
  for (let i = 0; i < n; i++) {
    const raw = c.tags[i];
    let tags = raw;
    let tagKey = '';
    if (raw.length === 1) tagKey = raw[0];
    else if (raw.length > 1) {
      tags = canonicalTags(raw);
      tagKey = tags.join(TAG_SEP);
    }
    const minute = bucketStart('minute', c.time[i]);
    if (minute !== lastTime) {
      lastTime = minute;
      buckets = GRANULARITIES.map((g) => bucketStart(g, minute));
    }
    // NOT_FOUND events have no key: they are found by workspace instead.
    const keyId = c.keyId[i] || NO_KEY + c.workspaceId[i];
    let byTags = byKey.get(keyId);
    if (byTags === undefined) byKey.set(keyId, (byTags = new Map()));
    let sums = byTags.get(tagKey);
    if (sums === undefined) byTags.set(tagKey, (sums = { minute: [], hour: [], day: [], month: [] }));
    const spent = c.spentCredits[i];
    const m = findOrAdd(c, sums.minute, i, minute, tagKey, tags, out.minute);
    m.count++;
    m.spent += spent;
    let coarser = parents.get(m);
    if (coarser === undefined) {
      coarser = [
        findOrAdd(c, sums.hour, i, buckets[1], tagKey, tags, out.hour),
        findOrAdd(c, sums.day, i, buckets[2], tagKey, tags, out.day),
        findOrAdd(c, sums.month, i, buckets[3], tagKey, tags, out.month),
      ];
      parents.set(m, coarser);
    }
    for (const s of coarser) {
      s.count++;
      s.spent += spent;
    }
  }
  return out;
}

const compare = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Sorts rows by their whole rollup key, so that concurrent writers (PostgreSQL) lock the rows they share in
 * the same order and cannot deadlock.
 */
export function sortByRollupKey(c: EventColumns, rows: RollupSum[]): RollupSum[] {
  return rows.sort(
    (x, y) =>
      compare(c.workspaceId[x.at], c.workspaceId[y.at]) ||
      compare(c.identityId[x.at], c.identityId[y.at]) ||
      x.time - y.time ||
      compare(c.keySpaceId[x.at], c.keySpaceId[y.at]) ||
      compare(c.keyId[x.at], c.keyId[y.at]) ||
      compare(c.externalId[x.at], c.externalId[y.at]) ||
      compare(c.outcome[x.at], c.outcome[y.at]) ||
      compare(x.tagKey, y.tagKey),
  );
}
