import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { POSTGRES_URL, postgresUnavailable } from '../harness.ts';
import { BinaryCopy } from '../../src/store/copyBinary.ts';

/** Rows written in COPY's binary format read back as they were written, however often the buffer grows. */
describe('binary COPY rows', async () => {
  const skip = await postgresUnavailable();
  let client: pg.Client;
  before(async () => {
    if (skip) return;
    client = new pg.Client(POSTGRES_URL);
    await client.connect();
    await client.query('CREATE TEMP TABLE copied (n smallint, big bigint, x double precision, t text, tags text[], raw text)');
    await client.query('CREATE TEMP TABLE picked (id bigint, ids text[], bigs bigint[], xs double precision[])');
  });
  after(async () => client?.end());

  it('round-trips numbers, texts and text arrays, from a buffer that starts small', { skip }, async () => {
    const texts = ['', 'plain', 'ünïcödé ☃', 'tab\there', 'back\\slash', '{braces}', '"quoted"', 'NULL', 'x'.repeat(5_000)];
    const rows = Array.from({ length: 300 }, (_, i) => ({
      n: (i % 65_535) - 32_767,
      big: i % 2 === 0 ? 2 ** 53 - 1 - i : -(2 ** 40) - i,
      x: i / 7,
      t: texts[i % texts.length],
      // Arrays long enough that the buffer grows in the middle of one.
      tags: i % 5 === 0 ? [] : Array.from({ length: 1 + (i % 17) }, (_, k) => texts[(i + k) % texts.length]),
      raw: `r${i}`,
    }));
    const copy = new BinaryCopy(0);
    for (const r of rows) {
      copy.row(6);
      copy.int2(r.n);
      copy.int8(r.big);
      copy.float8(r.x);
      copy.text(r.t);
      copy.textArray(r.tags);
      copy.bytes(Buffer.from(r.raw));
    }
    const stream = client.query(copyFrom('COPY copied FROM STDIN (FORMAT binary)'));
    stream.end(copy.finish());
    await finished(stream);
    const { rows: back } = await client.query('SELECT n, big::text AS big, x, t, tags, raw FROM copied');
    assert.equal(back.length, rows.length);
    const byRaw = new Map(back.map((b) => [b.raw, b]));
    rows.forEach((r, i) => {
      const b = byRaw.get(r.raw);
      assert.ok(b, `row ${i} read back`);
      assert.deepEqual([b.n, b.big, b.x, b.t, b.tags], [r.n, String(r.big), r.x, r.t, r.tags], `row ${i}`);
    });
  });

  it('round-trips arrays of the values picked by index, empty ones included', { skip }, async () => {
    const texts = ['req_a', 'ünïcödé ☃', '', 'x'.repeat(3_000), 'tab\there'];
    const bigs = [0, 1, -1, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 40 + 3, 1_700_000_000_123];
    const xs = [0, 1e-9, -2.5, 0.04231, 1e300];
    const picks = [[], [0], [4, 0, 2], Array.from({ length: 400 }, (_, k) => (k * 7) % 5), [1, 1, 1]];
    const copy = new BinaryCopy(0);
    picks.forEach((at, id) => {
      copy.row(4);
      copy.int8(id);
      copy.textArrayAt(texts, at);
      copy.int8ArrayAt(bigs, at.map((k) => (k * 3) % bigs.length));
      copy.float8ArrayAt(xs, at);
    });
    const stream = client.query(copyFrom('COPY picked FROM STDIN (FORMAT binary)'));
    stream.end(copy.finish());
    await finished(stream);
    const { rows } = await client.query('SELECT id::int AS id, ids, bigs::text[] AS bigs, xs FROM picked ORDER BY id');
    assert.deepEqual(
      rows.map((r) => [r.id, r.ids, r.bigs, r.xs]),
      picks.map((at, id) => [id, at.map((k) => texts[k]), at.map((k) => String(bigs[(k * 3) % bigs.length])), at.map((k) => xs[k])]),
    );
  });
});
