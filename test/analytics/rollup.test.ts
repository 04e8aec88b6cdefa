import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toColumns } from './events.ts';
import { GRANULARITIES, bucketStart, rollupBatch, sortByRollupKey, type RollupSum } from '../../src/analytics/rollup.ts';
import type { VerificationEvent } from '../../src/analytics/types.ts';

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function events(seed: number, n: number): VerificationEvent[] {
  const r = random(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  // Times around the end of a leap February, crossing minute, hour, day and month boundaries.
  const start = Date.UTC(2028, 1, 29, 23, 58);
  const tagSets = [[], ['a'], ['b'], ['a', 'b'], ['b', 'a'], ['a', 'a', 'b'], ['plan=pro']];
  return Array.from({ length: n }, (_, i) => {
    const key = pick(['key_1', 'key_2', 'key_3', '']);
    const identity = pick(['', 'id_1', 'id_2']);
    return {
      requestId: `req_${seed}_${i}`,
      time: start + Math.floor(r() * 5 * 60_000),
      workspaceId: pick(['ws_a', 'ws_b']),
      keySpaceId: key === '' ? '' : pick(['ks_1', 'ks_2']),
      keyId: key,
      identityId: identity,
      externalId: identity === '' ? '' : pick(['user_1', 'user_2']),
      outcome: pick(['VALID', 'RATE_LIMITED', 'NOT_FOUND']),
      tags: pick(tagSets),
      spentCredits: Math.floor(r() * 3),
      latency: 0.1,
      nodeId: 'node',
    };
  });
}

/** The rollup as a plain group-by over the events, one granularity. */
function reference(evs: VerificationEvent[], g: (typeof GRANULARITIES)[number]): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const e of evs) {
    const id = JSON.stringify([
      e.workspaceId, e.identityId, bucketStart(g, e.time), e.keySpaceId, e.keyId, e.externalId, e.outcome, [...new Set(e.tags)].sort(),
    ]);
    const cur = out.get(id) ?? [0, 0];
    out.set(id, [cur[0] + 1, cur[1] + e.spentCredits]);
  }
  return out;
}

describe('rollupBatch', () => {
  it('equals a plain group-by of the events at every granularity', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const evs = events(seed, 400);
      const c = toColumns(evs);
      const rollups = rollupBatch(c);
      for (const g of GRANULARITIES) {
        const got = new Map<string, [number, number]>();
        for (const s of rollups[g]) {
          const i = s.at;
          const id = JSON.stringify([c.workspaceId[i], c.identityId[i], s.time, c.keySpaceId[i], c.keyId[i], c.externalId[i], c.outcome[i], s.tags]);
          assert.ok(!got.has(id), `seed ${seed}, ${g}: two rows for ${id}`);
          got.set(id, [s.count, s.spent]);
        }
        assert.deepEqual(got, reference(evs, g), `seed ${seed}, ${g}`);
      }
    }
  });

  it('puts the month of a leap day and of the day after in different buckets', () => {
    const c = toColumns([
      { ...events(1, 1)[0], time: Date.UTC(2028, 1, 29, 23, 59, 59, 999), keyId: 'k', tags: [] },
      { ...events(1, 1)[0], time: Date.UTC(2028, 2, 1, 0, 0), keyId: 'k', tags: [] },
    ]);
    const rollups = rollupBatch(c);
    assert.deepEqual(rollups.month.map((s) => s.time), [Date.UTC(2028, 1, 1), Date.UTC(2028, 2, 1)]);
    assert.deepEqual(rollups.day.map((s) => s.count), [1, 1]);
  });
});

describe('sortByRollupKey', () => {
  it('orders rows by their whole rollup key', () => {
    const c = toColumns(events(7, 300));
    const rows = sortByRollupKey(c, [...rollupBatch(c).hour]);
    const keyOf = (s: RollupSum) => [c.workspaceId[s.at], c.identityId[s.at], s.time, c.keySpaceId[s.at], c.keyId[s.at], c.externalId[s.at], c.outcome[s.at], s.tagKey];
    for (let i = 1; i < rows.length; i++) {
      const a = keyOf(rows[i - 1]);
      const b = keyOf(rows[i]);
      const first = a.findIndex((v, j) => v !== b[j]);
      assert.ok(first >= 0 && a[first] < b[first], `row ${i} is out of order: ${JSON.stringify(a)} then ${JSON.stringify(b)}`);
    }
  });
});
