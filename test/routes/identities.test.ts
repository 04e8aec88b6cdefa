import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { assertMatchesContract } from '../contract.ts';
import type { TestServer } from '../harness.ts';

interface WireRatelimit {
  id: string;
  name: string;
  limit: number;
  duration: number;
  autoApply: boolean;
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

let counter = 0;
/** An externalId no other test uses. */
const uniqueExternalId = (prefix = 'user') => `${prefix}_${Date.now().toString(36)}_${++counter}`;

async function createIdentity(s: TestServer, body: Record<string, unknown>, key?: string): Promise<string> {
  const res = await s.call('identities.createIdentity', body, key);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data.identityId;
}

/** Walks every page of listIdentities and returns the ids in the order they came. */
async function listAll(s: TestServer, key: string, body: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const res = await s.call('identities.listIdentities', { ...body, ...(cursor ? { cursor } : {}) }, key);
    assert.equal(res.status, 200);
    ids.push(...res.body.data.map((i: { id: string }) => i.id));
    if (!res.body.pagination.hasMore) {
      assert.equal(res.body.pagination.cursor, undefined);
      return ids;
    }
    assert.equal(typeof res.body.pagination.cursor, 'string');
    cursor = res.body.pagination.cursor;
  }
  throw new Error('pagination never ended');
}

/** Meta whose JSON is exactly `bytes` long. */
function metaOfSize(bytes: number): Record<string, string> {
  const overhead = JSON.stringify({ blob: '' }).length;
  return { blob: 'x'.repeat(bytes - overhead) };
}

const rl = (name: string, limit = 10, duration = 60_000, autoApply = false) => ({ name, limit, duration, autoApply });

await describeOnBackends('identities', (server) => {
  describe('liveness', () => {
    it('answers GET /v2/liveness without authentication', async () => {
      const res = await fetch(`${server().url}/v2/liveness`);
      const body = await res.json();
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assertMatchesContract('liveness', 200, res.headers.get('content-type') ?? '', body);
      assert.equal(body.data.message, 'OK');
      assert.match(body.meta.requestId, /^req_[A-Za-z0-9]+$/);
    });
  });

  describe('200', () => {
    it('creates an identity and reads it back by id and by externalId', async () => {
      const externalId = uniqueExternalId();
      const meta = { plan: 'pro', nested: { seats: 3, tags: ['a', 'b'] }, flag: true, none: null };
      const id = await createIdentity(server(), { externalId, meta, ratelimits: [rl('requests', 100, 1000, true)] });
      assert.match(id, /^id_[A-Za-z0-9]+$/);

      const byId = await server().call('identities.getIdentity', { identity: id });
      const byExternalId = await server().call('identities.getIdentity', { identity: externalId });
      assert.equal(byId.status, 200);
      assert.deepEqual(byId.body.data, byExternalId.body.data);
      assert.equal(byId.body.data.id, id);
      assert.equal(byId.body.data.externalId, externalId);
      assert.deepEqual(byId.body.data.meta, meta);
      assert.equal(byId.body.data.ratelimits.length, 1);
      const [limit] = byId.body.data.ratelimits;
      assert.match(limit.id, /^rl_[A-Za-z0-9]+$/);
      assert.deepEqual({ ...limit, id: undefined }, { ...rl('requests', 100, 1000, true), id: undefined });
    });

    it('leaves meta and ratelimits out when there are none', async () => {
      const id = await createIdentity(server(), { externalId: uniqueExternalId() });
      const res = await server().call('identities.getIdentity', { identity: id });
      assert.deepEqual(Object.keys(res.body.data).sort(), ['externalId', 'id']);
    });

    it('accepts every externalId the pattern allows, from 1 to 255 characters', async () => {
      for (const externalId of ['a', 'Z', '9', '_', '.', '-', `A.b-C_d.${Date.now()}`, 'x'.repeat(255)]) {
        const res = await server().call('identities.createIdentity', { externalId });
        assert.equal(res.status, 200, externalId);
        const got = await server().call('identities.getIdentity', { identity: externalId });
        assert.equal(got.body.data.externalId, externalId);
      }
    });

    it('ignores unknown top-level fields when creating, as the contract allows', async () => {
      const res = await server().call('identities.createIdentity', { externalId: uniqueExternalId(), environment: 'x' });
      assert.equal(res.status, 200);
    });

    it('prefers an id match over an externalId match when both exist', async () => {
      const target = await createIdentity(server(), { externalId: uniqueExternalId() });
      // Another identity whose externalId is the first one's id.
      const shadow = await createIdentity(server(), { externalId: target });
      const res = await server().call('identities.getIdentity', { identity: target });
      assert.equal(res.body.data.id, target);
      assert.notEqual(res.body.data.id, shadow);
    });

    it('accepts meta with exactly 100 properties and meta of exactly 1 MB', async () => {
      const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
      const a = await createIdentity(server(), { externalId: uniqueExternalId(), meta: hundred });
      assert.equal(Object.keys((await server().call('identities.getIdentity', { identity: a })).body.data.meta).length, 100);

      const big = metaOfSize(1024 * 1024);
      assert.equal(Buffer.byteLength(JSON.stringify(big)), 1024 * 1024);
      const b = await createIdentity(server(), { externalId: uniqueExternalId(), meta: big });
      const got = await server().call('identities.getIdentity', { identity: b });
      assert.equal(got.body.data.meta.blob.length, big.blob.length);
      const updated = await server().call('identities.updateIdentity', { identity: b, meta: big });
      assert.equal(updated.status, 200);
    });

    it('accepts 50 ratelimits, durations from 1000 ms, and autoApply left out as false', async () => {
      const ratelimits = Array.from({ length: 50 }, (_, i) => ({ name: `limit-${String(i).padStart(2, '0')}`, limit: i + 1, duration: 1000 }));
      const id = await createIdentity(server(), { externalId: uniqueExternalId(), ratelimits });
      const res = await server().call('identities.getIdentity', { identity: id });
      assert.equal(res.body.data.ratelimits.length, 50);
      const got = [...res.body.data.ratelimits].sort(byName);
      got.forEach((r: WireRatelimit, i: number) => {
        assert.equal(r.name, ratelimits[i].name);
        assert.equal(r.limit, i + 1);
        assert.equal(r.duration, 1000);
        assert.equal(r.autoApply, false);
      });
    });

    it('updates meta, replacing it whole, and answers with the identity', async () => {
      const externalId = uniqueExternalId();
      const id = await createIdentity(server(), { externalId, meta: { a: 1, b: 2 } });
      const res = await server().call('identities.updateIdentity', { identity: externalId, meta: { c: 3 } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.data, { id, externalId, meta: { c: 3 } });
      const got = await server().call('identities.getIdentity', { identity: id });
      assert.deepEqual(got.body.data.meta, { c: 3 });
    });

    it('replaces ratelimits by name: kept names keep their ids, missing names go, new names come', async () => {
      const id = await createIdentity(server(), {
        externalId: uniqueExternalId(),
        ratelimits: [rl('keep', 10), rl('change', 20), rl('drop', 30)],
      });
      const before = (await server().call('identities.getIdentity', { identity: id })).body.data.ratelimits as WireRatelimit[];
      const idOf = (list: WireRatelimit[], name: string) => list.find((r) => r.name === name)?.id;

      const res = await server().call('identities.updateIdentity', {
        identity: id,
        ratelimits: [rl('keep', 10), rl('change', 25, 5000, true), rl('added', 40)],
      });
      assert.equal(res.status, 200);
      const after = (await server().call('identities.getIdentity', { identity: id })).body.data.ratelimits as WireRatelimit[];
      assert.deepEqual([...res.body.data.ratelimits].sort(byName), [...after].sort(byName));
      assert.deepEqual(after.map((r) => r.name).sort(), ['added', 'change', 'keep']);
      assert.equal(idOf(after, 'keep'), idOf(before, 'keep'));
      assert.equal(idOf(after, 'change'), idOf(before, 'change'));
      assert.deepEqual(after.find((r) => r.name === 'change'), { id: idOf(before, 'change'), ...rl('change', 25, 5000, true) });
      const added = idOf(after, 'added')!;
      assert.match(added, /^rl_/);
      assert.ok(!before.some((r) => r.id === added));
    });

    it('keeps what an update does not mention', async () => {
      const id = await createIdentity(server(), { externalId: uniqueExternalId(), meta: { keep: true }, ratelimits: [rl('stays')] });
      const onlyLimits = await server().call('identities.updateIdentity', { identity: id, ratelimits: [rl('stays', 99)] });
      assert.deepEqual(onlyLimits.body.data.meta, { keep: true });
      const onlyMeta = await server().call('identities.updateIdentity', { identity: id, meta: { other: 1 } });
      assert.equal(onlyMeta.body.data.ratelimits[0].limit, 99);
      const got = await server().call('identities.getIdentity', { identity: id });
      assert.deepEqual(got.body.data.meta, { other: 1 });
      assert.equal(got.body.data.ratelimits[0].limit, 99);
    });

    it('clears meta with {} and ratelimits with []', async () => {
      const id = await createIdentity(server(), { externalId: uniqueExternalId(), meta: { a: 1 }, ratelimits: [rl('one'), rl('two')] });
      const res = await server().call('identities.updateIdentity', { identity: id, meta: {}, ratelimits: [] });
      assert.equal(res.status, 200);
      assert.equal(res.body.data.meta, undefined);
      assert.equal(res.body.data.ratelimits, undefined);
      const got = await server().call('identities.getIdentity', { identity: id });
      assert.deepEqual(Object.keys(got.body.data).sort(), ['externalId', 'id']);
    });

    it('soft-deletes and frees the externalId at once', async () => {
      const externalId = uniqueExternalId();
      const first = await createIdentity(server(), { externalId });
      const del = await server().call('identities.deleteIdentity', { identity: externalId });
      assert.equal(del.status, 200);
      assert.deepEqual(Object.keys(del.body), ['meta']);
      assert.equal((await server().call('identities.getIdentity', { identity: first })).status, 404);

      const second = await createIdentity(server(), { externalId });
      assert.notEqual(second, first);
      assert.equal((await server().call('identities.getIdentity', { identity: externalId })).body.data.id, second);
      // Deleting the second incarnation and creating a third works just the same.
      assert.equal((await server().call('identities.deleteIdentity', { identity: second })).status, 200);
      const third = await createIdentity(server(), { externalId });
      assert.equal((await server().call('identities.getIdentity', { identity: externalId })).body.data.id, third);

      // The row is kept, only marked deleted.
      const row = await server().app.services.store.db
        .selectFrom('identities')
        .select(['id', 'deleted_at'])
        .where('id', '=', first)
        .executeTakeFirst();
      assert.equal(row?.id, first);
      assert.equal(typeof row?.deleted_at, 'number');
    });

    it('lists identities without deleted ones', async () => {
      const ws = await server().newWorkspace();
      const a = await createIdentity(server(), { externalId: 'alive' }, ws.rootKey);
      const b = await createIdentity(server(), { externalId: 'gone' }, ws.rootKey);
      await server().call('identities.deleteIdentity', { identity: b }, ws.rootKey);
      assert.deepEqual(await listAll(server(), ws.rootKey), [a]);
    });

    it('searches ids and externalIds as case-insensitive substrings with % and _ taken literally', async () => {
      const ws = await server().newWorkspace();
      const key = ws.rootKey;
      const alpha = await createIdentity(server(), { externalId: 'Search_Alpha' }, key);
      const wild = await createIdentity(server(), { externalId: 'searchXalpha' }, key);
      const beta = await createIdentity(server(), { externalId: 'other.beta' }, key);
      const search = async (text: string) => (await listAll(server(), key, { search: text })).sort();

      assert.deepEqual(await search('ALPHA'), [alpha, wild].sort());
      assert.deepEqual(await search('h_a'), [alpha], '_ must not match any character');
      assert.deepEqual(await search('%'), [], '% must not match everything');
      assert.deepEqual(await search('search%alpha'), []);
      assert.deepEqual(await search('.BETA'), [beta]);
      // The id itself is searched too, in any case.
      const tail = beta.slice(3, 12);
      assert.deepEqual(await search(tail.toUpperCase()), [beta]);
      assert.deepEqual(await search(tail.toLowerCase()), [beta]);
      // Whitespace only is no filter at all.
      assert.deepEqual(await search('   '), [alpha, wild, beta].sort());
      assert.deepEqual(await search('nothing-like-this'), []);
    });

    it('pages with a cursor: every identity exactly once, in id order', async () => {
      const ws = await server().newWorkspace();
      const created: string[] = [];
      for (let i = 0; i < 23; i++) created.push(await createIdentity(server(), { externalId: `page-${i}` }, ws.rootKey));

      const first = await server().call('identities.listIdentities', { limit: 7 }, ws.rootKey);
      assert.equal(first.body.data.length, 7);
      assert.equal(first.body.pagination.hasMore, true);
      assert.equal(typeof first.body.pagination.cursor, 'string');

      const walked = await listAll(server(), ws.rootKey, { limit: 7 });
      assert.equal(walked.length, 23);
      assert.equal(new Set(walked).size, 23);
      assert.deepEqual([...walked].sort(), [...created].sort());

      const single = await listAll(server(), ws.rootKey, { limit: 1 });
      assert.deepEqual(single, walked);
      const one = await listAll(server(), ws.rootKey, { limit: 100 });
      assert.deepEqual(one, walked);
    });

    it('returns 100 identities by default and says there are more', async () => {
      const ws = await server().newWorkspace();
      const store = server().app.services.store;
      for (let i = 0; i < 101; i++) await store.identities.create(ws.workspaceId, `bulk-${i}`, {}, []);
      const res = await server().call('identities.listIdentities', {}, ws.rootKey);
      assert.equal(res.body.data.length, 100);
      assert.equal(res.body.pagination.hasMore, true);
      const rest = await server().call('identities.listIdentities', { cursor: res.body.pagination.cursor }, ws.rootKey);
      assert.equal(rest.body.data.length, 1);
      assert.equal(rest.body.pagination.hasMore, false);
      assert.equal(rest.body.pagination.cursor, undefined);
      const all = new Set([...res.body.data, ...rest.body.data].map((i: { id: string }) => i.id));
      assert.equal(all.size, 101);
    });

    it('lists meta and ratelimits of each identity', async () => {
      const ws = await server().newWorkspace();
      const id = await createIdentity(server(), { externalId: 'rich', meta: { m: 1 }, ratelimits: [rl('abc')] }, ws.rootKey);
      const res = await server().call('identities.listIdentities', {}, ws.rootKey);
      assert.equal(res.body.data.length, 1);
      assert.equal(res.body.data[0].id, id);
      assert.deepEqual(res.body.data[0].meta, { m: 1 });
      assert.equal(res.body.data[0].ratelimits[0].name, 'abc');
    });

    it('lets the same externalId live in two workspaces', async () => {
      const externalId = uniqueExternalId();
      const ws = await server().newWorkspace();
      const mine = await createIdentity(server(), { externalId });
      const theirs = await createIdentity(server(), { externalId }, ws.rootKey);
      assert.notEqual(mine, theirs);
      assert.equal((await server().call('identities.getIdentity', { identity: externalId })).body.data.id, mine);
      assert.equal((await server().call('identities.getIdentity', { identity: externalId }, ws.rootKey)).body.data.id, theirs);
    });

    it('accepts tuples naming the identity itself', async () => {
      const id = await createIdentity(server(), { externalId: uniqueExternalId() });
      const read = await server().newRootKey([`identity.${id}.read_identity`]);
      assert.equal((await server().call('identities.getIdentity', { identity: id }, read)).status, 200);
      const update = await server().newRootKey([`identity.${id}.update_identity`]);
      assert.equal((await server().call('identities.updateIdentity', { identity: id, meta: { x: 1 } }, update)).status, 200);
      const del = await server().newRootKey([`identity.${id}.delete_identity`]);
      assert.equal((await server().call('identities.deleteIdentity', { identity: id }, del)).status, 200);
    });

    it('lists with per-identity read grants when they cover the whole page', async () => {
      const ws = await server().newWorkspace();
      const a = await createIdentity(server(), { externalId: 'one' }, ws.rootKey);
      const b = await createIdentity(server(), { externalId: 'two' }, ws.rootKey);
      const key = await server().newRootKey([`identity.${a}.read_identity`, `identity.${b}.read_identity`], ws.workspaceId);
      const res = await server().call('identities.listIdentities', {}, key);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.data.map((i: { id: string }) => i.id).sort(), [a, b].sort());
    });
  });

  describe('400', () => {
    const expectField = async (operation: string, body: unknown, location: string | RegExp) => {
      const res = await server().call(operation, body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.error.type, /invalid_input$/);
      const locations = res.body.error.errors.map((e: { location: string }) => e.location);
      assert.ok(
        locations.some((l: string) => (typeof location === 'string' ? l === location : location.test(l))),
        `expected an error at ${location}, got ${JSON.stringify(res.body.error.errors)}`,
      );
      return res;
    };

    it('rejects externalIds outside the pattern or length', async () => {
      for (const externalId of ['', 'has space', 'slash/no', 'ümlaut', 'semi;colon', 'x'.repeat(256), 'a%b', 'a*b']) {
        await expectField('identities.createIdentity', { externalId }, 'body.externalId');
      }
      await expectField('identities.createIdentity', { externalId: 123 }, 'body.externalId');
      await expectField('identities.createIdentity', {}, 'body.externalId');
    });

    it('rejects meta with more than 100 properties', async () => {
      const meta = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i]));
      await expectField('identities.createIdentity', { externalId: uniqueExternalId(), meta }, 'body.meta');
      const id = await createIdentity(server(), { externalId: uniqueExternalId() });
      await expectField('identities.updateIdentity', { identity: id, meta }, 'body.meta');
    });

    it('rejects meta over 1 MB, naming body.meta', async () => {
      const meta = metaOfSize(1024 * 1024 + 1);
      const res = await expectField('identities.createIdentity', { externalId: uniqueExternalId(), meta }, 'body.meta');
      assert.match(res.body.error.detail, /meta/);
      const id = await createIdentity(server(), { externalId: uniqueExternalId(), meta: { small: true } });
      await expectField('identities.updateIdentity', { identity: id, meta }, 'body.meta');
      assert.deepEqual((await server().call('identities.getIdentity', { identity: id })).body.data.meta, { small: true });
    });

    it('rejects meta that is not an object', async () => {
      for (const meta of [[], 'text', 1, true, null]) {
        await expectField('identities.createIdentity', { externalId: uniqueExternalId(), meta }, 'body.meta');
      }
    });

    it('rejects more than 50 ratelimits', async () => {
      const ratelimits = Array.from({ length: 51 }, (_, i) => rl(`limit-${i}`));
      await expectField('identities.createIdentity', { externalId: uniqueExternalId(), ratelimits }, 'body.ratelimits');
      const id = await createIdentity(server(), { externalId: uniqueExternalId() });
      await expectField('identities.updateIdentity', { identity: id, ratelimits }, 'body.ratelimits');
    });

    it('checks each ratelimit field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ limit: 1, duration: 1000 }, 'body.ratelimits[0].name'],
        [{ name: 'ab', limit: 1, duration: 1000 }, 'body.ratelimits[0].name'],
        [{ name: 'x'.repeat(129), limit: 1, duration: 1000 }, 'body.ratelimits[0].name'],
        [{ name: 'abc', duration: 1000 }, 'body.ratelimits[0].limit'],
        [{ name: 'abc', limit: 0, duration: 1000 }, 'body.ratelimits[0].limit'],
        [{ name: 'abc', limit: 1.5, duration: 1000 }, 'body.ratelimits[0].limit'],
        [{ name: 'abc', limit: '5', duration: 1000 }, 'body.ratelimits[0].limit'],
        [{ name: 'abc', limit: 1 }, 'body.ratelimits[0].duration'],
        [{ name: 'abc', limit: 1, duration: 999 }, 'body.ratelimits[0].duration'],
        [{ name: 'abc', limit: 1, duration: -1 }, 'body.ratelimits[0].duration'],
        [{ name: 'abc', limit: 1, duration: 1000, autoApply: 'yes' }, 'body.ratelimits[0].autoApply'],
        [{ name: 'abc', limit: 1, duration: 1000, surprise: 1 }, 'body.ratelimits[0].surprise'],
      ];
      const id = await createIdentity(server(), { externalId: uniqueExternalId() });
      for (const [limit, location] of cases) {
        await expectField('identities.createIdentity', { externalId: uniqueExternalId(), ratelimits: [limit] }, location);
        await expectField('identities.updateIdentity', { identity: id, ratelimits: [limit] }, location);
      }
    });

    it('rejects two ratelimits with one name, naming it', async () => {
      const ratelimits = [rl('unique'), rl('twice'), rl('twice', 5)];
      const res = await expectField('identities.createIdentity', { externalId: uniqueExternalId(), ratelimits }, 'body.ratelimits[2].name');
      assert.match(res.body.error.detail, /'twice'/);
      assert.match(res.body.error.errors[0].message, /twice/);
      const id = await createIdentity(server(), { externalId: uniqueExternalId(), ratelimits: [rl('unique')] });
      const upd = await expectField('identities.updateIdentity', { identity: id, ratelimits }, 'body.ratelimits[2].name');
      assert.match(upd.body.error.detail, /'twice'/);
      // Nothing changed.
      const got = await server().call('identities.getIdentity', { identity: id });
      assert.deepEqual(got.body.data.ratelimits.map((r: WireRatelimit) => r.name), ['unique']);
    });

    it('rejects unknown fields where the schema is strict', async () => {
      await expectField('identities.getIdentity', { identity: 'abc', extra: 1 }, 'body.extra');
      await expectField('identities.updateIdentity', { identity: 'abc', extra: 1 }, 'body.extra');
      await expectField('identities.deleteIdentity', { identity: 'abc', extra: 1 }, 'body.extra');
      await expectField('identities.listIdentities', { extra: 1 }, 'body.extra');
    });

    it('needs the identity to look up', async () => {
      for (const op of ['identities.getIdentity', 'identities.updateIdentity', 'identities.deleteIdentity']) {
        await expectField(op, {}, 'body.identity');
        await expectField(op, { identity: '' }, 'body.identity');
        await expectField(op, { identity: 5 }, 'body.identity');
      }
    });

    it('bounds the page size and the search', async () => {
      for (const limit of [0, -1, 101, 1.5, '10']) await expectField('identities.listIdentities', { limit }, 'body.limit');
      await expectField('identities.listIdentities', { search: 'x'.repeat(257) }, 'body.search');
      await expectField('identities.listIdentities', { cursor: 7 }, 'body.cursor');
    });

    it('rejects malformed JSON and bodies that are not objects', async () => {
      for (const raw of ['{"externalId": ', '', 'null', '[]', '"text"', '{"externalId": "a",}']) {
        const res = await server().call('identities.createIdentity', undefined, undefined, { raw });
        assert.equal(res.status, 400, raw);
        assert.equal(res.body.error.errors.length > 0, true);
      }
    });

    it('rejects what neither backend can store alike: NUL characters, deep nesting, prototype keys', async () => {
      await expectField('identities.getIdentity', { identity: 'a\u0000b' }, 'body.identity');
      await expectField('identities.listIdentities', { search: '\u0000' }, 'body.search');
      await expectField('identities.createIdentity', { externalId: uniqueExternalId(), meta: { note: 'a\u0000' } }, 'body.meta.note');
      // Deep enough to overflow the stack of a recursive JSON.stringify.
      const deep = await server().call('identities.createIdentity', undefined, undefined, {
        raw: `{"externalId":"${uniqueExternalId()}","meta":{"deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
      });
      assert.equal(deep.status, 400);
      assert.match(deep.body.error.errors[0].location, /^body\.meta\.deep(\[0\])+$/);
      const proto = await server().call('identities.createIdentity', undefined, undefined, {
        raw: `{"externalId":"${uniqueExternalId()}","meta":{"__proto__":{"admin":true}}}`,
      });
      assert.equal(proto.status, 400);
      assert.equal(proto.body.error.errors[0].location, 'body.meta.__proto__');
    });

    it('reads the body as JSON whatever content type is declared', async () => {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', '', 'nonsense']) {
        const externalId = uniqueExternalId();
        const res = await server().call('identities.createIdentity', { externalId }, undefined, { headers: { 'content-type': contentType } });
        assert.equal(res.status, 200, contentType);
      }
    });

    it('validates the body before authentication', async () => {
      const res = await server().call('identities.createIdentity', { externalId: 'no spaces allowed' }, 'lk_root_unknown');
      assert.equal(res.status, 400);
      const none = await server().call('identities.getIdentity', {}, null);
      assert.equal(none.status, 400);
      assert.equal(none.body.error.errors[0].location, 'body.identity');
    });

    it('needs an Authorization header with the Bearer scheme', async () => {
      const body = { externalId: uniqueExternalId() };
      const missing = await server().call('identities.createIdentity', body, null);
      assert.equal(missing.status, 400);
      assert.match(missing.body.error.type, /authentication\/missing$/);
      for (const authorization of ['Basic abc', 'bearer abc', 'Bearer ', 'Token x']) {
        const res = await server().call('identities.createIdentity', body, null, { headers: { authorization } });
        assert.equal(res.status, 400, authorization);
      }
      assert.equal((await server().call('identities.getIdentity', { identity: body.externalId })).status, 404);
    });

    it('answers every deleteIdentity error as application/problem+json', async () => {
      const cases: [unknown, string | null | undefined, number][] = [
        [{}, undefined, 400],
        [{ identity: 'abc' }, null, 400],
        [{ identity: 'abc' }, 'lk_root_unknown', 401],
        [{ identity: 'does-not-exist' }, undefined, 404],
      ];
      for (const [body, key, status] of cases) {
        const res = await server().call('identities.deleteIdentity', body, key);
        assert.equal(res.status, status);
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      }
      const id = await createIdentity(server(), { externalId: uniqueExternalId() });
      const weak = await server().newRootKey(['identity.*.read_identity']);
      const forbidden = await server().call('identities.deleteIdentity', { identity: id }, weak);
      assert.equal(forbidden.status, 403);
      assert.match(forbidden.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const other = await server().call('identities.getIdentity', { identity: 'does-not-exist' });
      assert.match(other.headers.get('content-type') ?? '', /^application\/json/);
    });
  });

  describe('401', () => {
    it('rejects unknown and deleted root keys', async () => {
      const s = server();
      const unknown = await s.call('identities.createIdentity', { externalId: uniqueExternalId() }, 'lk_root_doesnotexist');
      assert.equal(unknown.status, 401);
      assert.match(unknown.body.error.type, /key_not_found$/);
      assert.equal((await s.call('identities.listIdentities', {}, 'lk_root_doesnotexist')).status, 401);

      const { keyId, key } = await s.app.services.store.rootKeys.create(s.workspaceId, ['identity.*.read_identity']);
      await s.app.services.store.rootKeys.delete(s.workspaceId, keyId);
      const deleted = await s.call('identities.listIdentities', {}, key);
      assert.equal(deleted.status, 401);
      assert.match(deleted.body.error.type, /key_not_found$/);
    });
  });

  describe('403', () => {
    it('asks for the wildcard read grant when the page is empty', async () => {
      const ws = await server().newWorkspace();
      const key = await server().newRootKey(['identity.*.create_identity'], ws.workspaceId);
      const res = await server().call('identities.listIdentities', {}, key);
      assert.equal(res.status, 403);
      assert.equal(res.body.error.detail, "Missing permission: 'identity.*.read_identity'");
    });

    it('names the missing permission for each operation', async () => {
      const id = await createIdentity(server(), { externalId: uniqueExternalId() });
      const key = await server().newRootKey(['api.*.create_api']);
      const cases: [string, unknown, string | RegExp][] = [
        ['identities.createIdentity', { externalId: uniqueExternalId() }, "Missing permission: 'identity.*.create_identity'"],
        ['identities.getIdentity', { identity: id }, `Missing one of these permissions: identity.*.read_identity or identity.${id}.read_identity`],
        ['identities.updateIdentity', { identity: id, meta: {} }, `Missing one of these permissions: identity.*.update_identity or identity.${id}.update_identity`],
        ['identities.deleteIdentity', { identity: id }, `Missing one of these permissions: identity.*.delete_identity or identity.${id}.delete_identity`],
        // The first identity on the page the key may not read is named.
        ['identities.listIdentities', {}, /^Missing one of these permissions: identity\.\*\.read_identity or identity\.id_\w+\.read_identity$/],
      ];
      for (const [op, body, detail] of cases) {
        const res = await server().call(op, body, key);
        assert.equal(res.status, 403, op);
        if (typeof detail === 'string') assert.equal(res.body.error.detail, detail);
        else assert.match(res.body.error.detail, detail);
        assert.match(res.body.error.type, /insufficient_permissions$/);
      }
      assert.equal((await server().call('identities.getIdentity', { identity: id })).status, 200);
    });

    it('does not let a grant for one identity act on another, or a different action', async () => {
      const a = await createIdentity(server(), { externalId: uniqueExternalId() });
      const b = await createIdentity(server(), { externalId: uniqueExternalId(), meta: { keep: 1 } });
      const key = await server().newRootKey([`identity.${a}.read_identity`, `identity.${a}.update_identity`]);
      assert.equal((await server().call('identities.getIdentity', { identity: b }, key)).status, 403);
      assert.equal((await server().call('identities.updateIdentity', { identity: b, meta: {} }, key)).status, 403);
      assert.equal((await server().call('identities.deleteIdentity', { identity: a }, key)).status, 403);
      assert.equal((await server().call('identities.createIdentity', { externalId: uniqueExternalId() }, key)).status, 403);
      assert.deepEqual((await server().call('identities.getIdentity', { identity: b })).body.data.meta, { keep: 1 });
      assert.equal((await server().call('identities.getIdentity', { identity: a })).status, 200);
    });

    it('refuses a list page holding an identity the key may not read', async () => {
      const ws = await server().newWorkspace();
      const a = await createIdentity(server(), { externalId: 'one' }, ws.rootKey);
      await createIdentity(server(), { externalId: 'two' }, ws.rootKey);
      const key = await server().newRootKey([`identity.${a}.read_identity`], ws.workspaceId);
      const res = await server().call('identities.listIdentities', {}, key);
      assert.equal(res.status, 403);
      assert.match(res.body.error.detail, /identity\.\*\.read_identity/);
    });

    it('does not treat the wildcard as a pattern', async () => {
      const id = await createIdentity(server(), { externalId: uniqueExternalId() });
      const key = await server().newRootKey(['identity.*.read_identit', 'identity.id_*.read_identity', '*.*.read_identity']);
      assert.equal((await server().call('identities.getIdentity', { identity: id }, key)).status, 403);
    });
  });

  describe('404', () => {
    it('answers unknown and deleted identities with identity_not_found', async () => {
      const externalId = uniqueExternalId();
      const id = await createIdentity(server(), { externalId });
      await server().call('identities.deleteIdentity', { identity: id });
      for (const identity of ['id_doesnotexist', 'nobody', id, externalId, '@#$%']) {
        for (const [op, extra] of [
          ['identities.getIdentity', {}],
          ['identities.updateIdentity', { meta: { a: 1 } }],
          ['identities.deleteIdentity', {}],
        ] as const) {
          const res = await server().call(op, { identity, ...extra });
          assert.equal(res.status, 404, `${op} ${identity}`);
          assert.match(res.body.error.type, /identity_not_found$/);
        }
      }
    });

    it("hides another workspace's identities", async () => {
      const externalId = uniqueExternalId();
      const id = await createIdentity(server(), { externalId, meta: { owner: 'me' } });
      const other = await server().newWorkspace();
      for (const identity of [id, externalId]) {
        assert.equal((await server().call('identities.getIdentity', { identity }, other.rootKey)).status, 404);
        assert.equal((await server().call('identities.updateIdentity', { identity, meta: {} }, other.rootKey)).status, 404);
        assert.equal((await server().call('identities.deleteIdentity', { identity }, other.rootKey)).status, 404);
      }
      const list = await listAll(server(), other.rootKey, { search: externalId });
      assert.deepEqual(list, []);
      assert.deepEqual(await listAll(server(), other.rootKey, { search: id }), []);
      const mine = await server().call('identities.getIdentity', { identity: id });
      assert.deepEqual(mine.body.data.meta, { owner: 'me' });
    });

    it('answers unknown routes in the error shape', async () => {
      const res = await fetch(`${server().url}/v2/identities.nope`, { method: 'POST', body: '{}' });
      const body = await res.json();
      assert.equal(res.status, 404);
      assert.match(body.meta.requestId, /^req_/);
      assert.equal(body.error.status, 404);
    });
  });

  describe('409', () => {
    it('refuses a second live identity with one externalId', async () => {
      const externalId = uniqueExternalId();
      const first = await createIdentity(server(), { externalId });
      const res = await server().call('identities.createIdentity', { externalId, meta: { second: true } });
      assert.equal(res.status, 409);
      assert.match(res.body.error.type, /\/identity_already_exists$/);
      assert.match(res.body.error.detail, new RegExp(externalId));
      const got = await server().call('identities.getIdentity', { identity: externalId });
      assert.equal(got.body.data.id, first);
      assert.equal(got.body.data.meta, undefined);
    });

    it('lets exactly one of many concurrent creates win', async () => {
      const externalId = uniqueExternalId('race');
      const results = await Promise.all(
        Array.from({ length: 8 }, () => server().call('identities.createIdentity', { externalId })),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
      assert.equal((await listAll(server(), server().rootKey, { search: externalId })).length, 1);
    });
  });

  describe('413', () => {
    it('refuses a body over the configured limit in the error shape', async () => {
      const s = server();
      const raw = JSON.stringify({ externalId: 'big', meta: { blob: 'x'.repeat(s.config.bodyLimit) } });
      const res = await s.call('identities.createIdentity', undefined, undefined, { raw });
      assert.equal(res.status, 413);
      assert.equal(res.body.error.status, 413);
      assert.match(res.body.error.detail, new RegExp(String(s.config.bodyLimit)));
      assert.deepEqual(res.body.error.errors, []);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const del = await s.call('identities.deleteIdentity', undefined, undefined, { raw: JSON.stringify({ identity: 'x'.repeat(s.config.bodyLimit) }) });
      assert.equal(del.status, 413);
      assert.match(del.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal((await s.call('identities.getIdentity', { identity: 'big' })).status, 404);
    });
  });
});
