import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import type { TestServer } from '../harness.ts';

let n = 0;
const unique = (base: string) => `${base}-${Date.now().toString(36)}-${++n}`;
const limitBody = (namespace: string, identifier = 'user_1', extra: Record<string, unknown> = {}) => ({
  namespace,
  identifier,
  limit: 3,
  duration: 60_000,
  ...extra,
});

async function namespaceId(server: TestServer, name: string, workspaceId = server.workspaceId): Promise<string> {
  const ns = await server.app.services.store.ratelimit.findNamespace(workspaceId, name);
  assert.ok(ns, `namespace ${name} exists`);
  return ns.id;
}

/** Deletes a namespace the way the CLI does, then forgets this node's cached copy. */
async function deleteNamespace(server: TestServer, name: string): Promise<void> {
  assert.ok(await server.app.services.store.ratelimit.deleteNamespace(server.workspaceId, name));
  server.app.services.namespaces.evict(server.workspaceId);
}

await describeOnBackends('ratelimit', (server) => {
  describe('200', () => {
    it('creates an unknown namespace on first use and counts down', async () => {
      const ns = unique('api');
      const before = Date.now();
      const first = await server().call('ratelimit.limit', limitBody(ns));
      assert.equal(first.status, 200);
      assert.deepEqual(Object.keys(first.body.data).sort(), ['limit', 'remaining', 'reset', 'success']);
      assert.equal(first.body.data.success, true);
      assert.equal(first.body.data.limit, 3);
      assert.equal(first.body.data.remaining, 2);
      // reset is the unix-ms end of the current window
      assert.ok(first.body.data.reset > before && first.body.data.reset <= Date.now() + 60_000);
      assert.equal(first.body.data.reset % 60_000, 0);
      assert.match(await namespaceId(server(), ns), /^rlns_[A-Za-z0-9]+$/);
    });

    it('answers 200 with success false once the limit is reached', async () => {
      const ns = unique('api');
      for (const remaining of [2, 1, 0]) {
        const res = await server().call('ratelimit.limit', limitBody(ns));
        assert.equal(res.body.data.remaining, remaining);
      }
      const limited = await server().call('ratelimit.limit', limitBody(ns));
      assert.equal(limited.status, 200);
      assert.equal(limited.body.data.success, false);
      assert.equal(limited.body.data.remaining, 0);
    });

    it('finds the namespace by id as well as by name', async () => {
      const ns = unique('api');
      await server().call('ratelimit.limit', limitBody(ns));
      const id = await namespaceId(server(), ns);
      const byId = await server().call('ratelimit.limit', limitBody(id));
      assert.equal(byId.body.data.remaining, 1, 'shares the counter of the call by name');
    });

    it('charges the cost, 1 by default, and 0 is a free look', async () => {
      const ns = unique('api');
      const body = limitBody(ns, 'u', { limit: 10 });
      assert.equal((await server().call('ratelimit.limit', { ...body, cost: 4 })).body.data.remaining, 6);
      assert.equal((await server().call('ratelimit.limit', { ...body, cost: 0 })).body.data.remaining, 6);
      assert.equal((await server().call('ratelimit.limit', body)).body.data.remaining, 5);
    });

    it('accepts a root key limited to the namespace', async () => {
      const ns = unique('api');
      await server().call('ratelimit.limit', limitBody(ns));
      const key = await server().newRootKey([`ratelimit.${await namespaceId(server(), ns)}.limit`]);
      const res = await server().call('ratelimit.limit', limitBody(ns), key);
      assert.equal(res.status, 200);
      assert.equal(res.body.data.remaining, 1);
    });

    it('keeps the counters of two workspaces apart', async () => {
      const ns = unique('shared-name');
      const other = await server().newWorkspace();
      await server().call('ratelimit.limit', limitBody(ns));
      await server().call('ratelimit.limit', limitBody(ns));
      const theirs = await server().call('ratelimit.limit', limitBody(ns), other.rootKey);
      assert.equal(theirs.body.data.remaining, 2);
    });

    it('multiLimit answers in request order, all or nothing', async () => {
      const a = unique('a');
      const b = unique('b');
      const ok = await server().call('ratelimit.multiLimit', [
        limitBody(a, 'x', { limit: 5 }),
        limitBody(b, 'y', { limit: 1 }),
      ]);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.data.passed, true);
      assert.deepEqual(
        ok.body.data.limits.map((l: any) => [l.namespace, l.identifier, l.limit, l.remaining, l.passed]),
        [[a, 'x', 5, 4, true], [b, 'y', 1, 0, true]],
      );
      const denied = await server().call('ratelimit.multiLimit', [
        limitBody(a, 'x', { limit: 5 }),
        limitBody(b, 'y', { limit: 1 }),
      ]);
      assert.equal(denied.body.data.passed, false);
      assert.deepEqual(denied.body.data.limits.map((l: any) => l.passed), [true, false]);
      // the passing limit was not charged for the denied batch
      const look = await server().call('ratelimit.limit', limitBody(a, 'x', { limit: 5, cost: 0 }));
      assert.equal(look.body.data.remaining, 4);
    });

    it('multiLimit counts the same counter named twice in one batch', async () => {
      const ns = unique('dup');
      const res = await server().call('ratelimit.multiLimit', [
        limitBody(ns, 'x', { limit: 3, cost: 2 }),
        limitBody(ns, 'x', { limit: 3, cost: 2 }),
      ]);
      assert.equal(res.body.data.passed, false);
      assert.deepEqual(res.body.data.limits.map((l: any) => l.passed), [true, false]);
      const look = await server().call('ratelimit.limit', limitBody(ns, 'x', { cost: 0 }));
      assert.equal(look.body.data.remaining, 3);
    });

    it('sets, reads, lists and deletes overrides; setting again keeps the id', async () => {
      const ns = unique('ov');
      await server().call('ratelimit.limit', limitBody(ns));
      const set = await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'vip_*', limit: 50, duration: 1000 });
      assert.equal(set.status, 200);
      assert.match(set.body.data.overrideId, /^rlor_/);
      const again = await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'vip_*', limit: 70, duration: 2000 });
      assert.equal(again.body.data.overrideId, set.body.data.overrideId);
      const got = await server().call('ratelimit.getOverride', { namespace: ns, identifier: 'vip_*' });
      assert.deepEqual(got.body.data, { overrideId: set.body.data.overrideId, identifier: 'vip_*', limit: 70, duration: 2000 });
      const byId = await server().call('ratelimit.getOverride', { namespace: await namespaceId(server(), ns), identifier: 'vip_*' });
      assert.equal(byId.body.data.overrideId, set.body.data.overrideId);
      const del = await server().call('ratelimit.deleteOverride', { namespace: ns, identifier: 'vip_*' });
      assert.deepEqual(del.body.data, {});
      const gone = await server().call('ratelimit.getOverride', { namespace: ns, identifier: 'vip_*' });
      assert.equal(gone.status, 404);
      const fresh = await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'vip_*', limit: 1, duration: 1000 });
      assert.notEqual(fresh.body.data.overrideId, set.body.data.overrideId);
    });

    it('pages through overrides and lists an empty namespace as []', async () => {
      const ns = unique('list');
      await server().call('ratelimit.limit', limitBody(ns));
      const empty = await server().call('ratelimit.listOverrides', { namespace: ns });
      assert.deepEqual(empty.body.data, []);
      assert.deepEqual(empty.body.pagination, { hasMore: false });
      const ids = new Set<string>();
      for (let i = 0; i < 13; i++) {
        const res = await server().call('ratelimit.setOverride', { namespace: ns, identifier: `id_${i}`, limit: i, duration: 1000 });
        ids.add(res.body.data.overrideId);
      }
      const first = await server().call('ratelimit.listOverrides', { namespace: ns });
      assert.equal(first.body.data.length, 10, 'default page size');
      assert.equal(first.body.pagination.hasMore, true);
      const second = await server().call('ratelimit.listOverrides', { namespace: ns, cursor: first.body.pagination.cursor, limit: 100 });
      assert.equal(second.body.data.length, 3);
      assert.deepEqual(second.body.pagination, { hasMore: false });
      const seen = [...first.body.data, ...second.body.data].map((o: any) => o.overrideId);
      assert.deepEqual(new Set(seen), ids);
      assert.deepEqual(seen, [...seen].sort());
    });

    it('applies an override change to the very next call, exact before wildcard', async () => {
      const ns = unique('live');
      const call = (identifier: string) => server().call('ratelimit.limit', limitBody(ns, identifier, { limit: 100 }));
      assert.equal((await call('team_a')).body.data.limit, 100);
      const wildcard = await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'team_*', limit: 5, duration: 30_000 });
      let res = await call('team_a');
      assert.equal(res.body.data.limit, 5);
      assert.equal(res.body.data.overrideId, wildcard.body.data.overrideId);
      assert.equal(res.body.data.reset % 30_000, 0, "the override's duration replaces the request's");
      const exact = await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'team_a', limit: 2, duration: 60_000 });
      res = await call('team_a');
      assert.equal(res.body.data.limit, 2);
      assert.equal(res.body.data.overrideId, exact.body.data.overrideId);
      assert.equal((await call('team_b')).body.data.overrideId, wildcard.body.data.overrideId);
      await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'team_a', limit: 0, duration: 60_000 });
      res = await call('team_a');
      assert.equal(res.body.data.success, false, 'a zero override blocks');
      await server().call('ratelimit.deleteOverride', { namespace: ns, identifier: 'team_a' });
      assert.equal((await call('team_a')).body.data.overrideId, wildcard.body.data.overrideId);
      await server().call('ratelimit.deleteOverride', { namespace: ns, identifier: 'team_*' });
      res = await call('team_a');
      assert.equal(res.body.data.limit, 100);
      assert.equal('overrideId' in res.body.data, false);
    });

    it('reports overrides in multiLimit', async () => {
      const ns = unique('mo');
      await server().call('ratelimit.limit', limitBody(ns));
      const ov = await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'x', limit: 9, duration: 1000 });
      const res = await server().call('ratelimit.multiLimit', [limitBody(ns, 'x'), limitBody(ns, 'y')]);
      assert.equal(res.body.data.limits[0].limit, 9);
      assert.equal(res.body.data.limits[0].overrideId, ov.body.data.overrideId);
      assert.equal('overrideId' in res.body.data.limits[1], false);
    });
  });

  describe('400', () => {
    const cases: [string, string, unknown, string][] = [
      ['ratelimit.limit', 'a missing identifier', { namespace: 'n', limit: 1, duration: 1000 }, 'body.identifier'],
      ['ratelimit.limit', 'a duration under a second', limitBody('n', 'i', { duration: 999 }), 'body.duration'],
      ['ratelimit.limit', 'a duration over 30 days', limitBody('n', 'i', { duration: 2_592_000_001 }), 'body.duration'],
      ['ratelimit.limit', 'a limit of 0', limitBody('n', 'i', { limit: 0 }), 'body.limit'],
      ['ratelimit.limit', 'a negative cost', limitBody('n', 'i', { cost: -1 }), 'body.cost'],
      ['ratelimit.limit', 'a fractional cost', limitBody('n', 'i', { cost: 1.5 }), 'body.cost'],
      ['ratelimit.limit', 'an empty namespace', limitBody(''), 'body.namespace'],
      ['ratelimit.limit', 'an identifier over 512 characters', limitBody('n', 'x'.repeat(513)), 'body.identifier'],
      ['ratelimit.limit', 'an unknown field', limitBody('n', 'i', { async: true }), 'body.async'],
      ['ratelimit.multiLimit', 'a bad item', [limitBody('n'), limitBody('n', 'i', { limit: 'ten' })], 'body[1].limit'],
      ['ratelimit.setOverride', 'a negative limit', { namespace: 'n', identifier: 'i', limit: -1, duration: 1000 }, 'body.limit'],
      ['ratelimit.setOverride', 'an identifier over 255 characters', { namespace: 'n', identifier: 'x'.repeat(256), limit: 1, duration: 1000 }, 'body.identifier'],
      ['ratelimit.setOverride', 'a missing duration', { namespace: 'n', identifier: 'i', limit: 1 }, 'body.duration'],
      ['ratelimit.getOverride', 'a missing identifier', { namespace: 'n' }, 'body.identifier'],
      ['ratelimit.listOverrides', 'a page size of 0', { namespace: 'n', limit: 0 }, 'body.limit'],
      ['ratelimit.listOverrides', 'a page size over 100', { namespace: 'n', limit: 101 }, 'body.limit'],
      ['ratelimit.deleteOverride', 'a missing namespace', { identifier: 'i' }, 'body.namespace'],
    ];
    for (const [op, what, body, location] of cases) {
      it(`${op} rejects ${what}`, async () => {
        const res = await server().call(op, body);
        assert.equal(res.status, 400);
        assert.ok(
          res.body.error.errors.some((e: any) => e.location === location),
          `expected ${location} in ${JSON.stringify(res.body.error.errors)}`,
        );
      });
    }

    it('multiLimit rejects an empty array and a single object', async () => {
      assert.equal((await server().call('ratelimit.multiLimit', [])).status, 400);
      assert.equal((await server().call('ratelimit.multiLimit', limitBody('n'))).status, 400);
      assert.equal((await server().call('ratelimit.multiLimit', Array.from({ length: 101 }, () => limitBody('n')))).status, 400);
    });

    it('rejects malformed JSON and an empty body', async () => {
      const malformed = await server().call('ratelimit.limit', undefined, undefined, { raw: '{"namespace": ' });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.error.errors[0].location, 'body');
      assert.match(malformed.headers.get('content-type') ?? '', /^application\/json/);
      const empty = await server().call('ratelimit.multiLimit', undefined, undefined, { raw: '' });
      assert.equal(empty.status, 400);
    });

    it('answers exactly as the general request path does', async () => {
      // A query string takes the request past the fast path, through the general one.
      const bad = { namespace: 'n', identifier: 'i', limit: 0, duration: 10, extra: true };
      const answers = [];
      for (const path of ['ratelimit.limit', 'ratelimit.limit?via=general']) {
        const res = await fetch(`${server().url}/v2/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${server().rootKey}` },
          body: JSON.stringify(bad),
        });
        const body = (await res.json()) as any;
        answers.push({ status: res.status, type: res.headers.get('content-type'), error: body.error });
      }
      assert.equal(answers[0].status, 400);
      assert.deepEqual(answers[0], answers[1]);
    });

    it('validates the body before authentication', async () => {
      const res = await server().call('ratelimit.limit', { namespace: 'n' }, 'lk_root_nonsense');
      assert.equal(res.status, 400);
    });
  });

  describe('413', () => {
    it('refuses a body over the size limit', async () => {
      const res = await fetch(`${server().url}/v2/ratelimit.limit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server().rootKey}` },
        body: JSON.stringify(limitBody('n', 'x'.repeat(server().config.bodyLimit))),
      });
      assert.equal(res.status, 413);
      const body = (await res.json()) as any;
      assert.equal(body.error.status, 413);
      assert.match(body.meta.requestId, /^req_/);
    });
  });

  describe('401', () => {
    it('rejects an unknown root key on every operation', async () => {
      for (const [op, body] of [
        ['ratelimit.limit', limitBody('n')],
        ['ratelimit.multiLimit', [limitBody('n')]],
        ['ratelimit.setOverride', { namespace: 'n', identifier: 'i', limit: 1, duration: 1000 }],
        ['ratelimit.getOverride', { namespace: 'n', identifier: 'i' }],
        ['ratelimit.listOverrides', { namespace: 'n' }],
        ['ratelimit.deleteOverride', { namespace: 'n', identifier: 'i' }],
      ] as const) {
        const res = await server().call(op, body, 'lk_root_unknown');
        assert.equal(res.status, 401, op);
      }
    });
  });

  describe('403', () => {
    it('does not create a namespace without create_namespace, and says so', async () => {
      const ns = unique('nocreate');
      const key = await server().newRootKey(['ratelimit.*.limit']);
      const res = await server().call('ratelimit.limit', limitBody(ns), key);
      assert.equal(res.status, 403);
      assert.match(res.body.error.detail, /ratelimit\.\*\.create_namespace/);
      assert.equal(await server().app.services.store.ratelimit.findNamespace(server().workspaceId, ns), undefined);
      const multi = await server().call('ratelimit.multiLimit', [limitBody(ns)], key);
      assert.equal(multi.status, 403);
      assert.match(multi.body.error.detail, /create_namespace/);
    });

    it('needs the limit permission for the namespace', async () => {
      const ns = unique('perm');
      const other = unique('perm-other');
      await server().call('ratelimit.limit', limitBody(ns));
      await server().call('ratelimit.limit', limitBody(other));
      const key = await server().newRootKey([`ratelimit.${await namespaceId(server(), other)}.limit`]);
      const res = await server().call('ratelimit.limit', limitBody(ns), key);
      assert.equal(res.status, 403);
      assert.match(res.body.error.detail, /ratelimit\.\*\.limit/);
      const multi = await server().call('ratelimit.multiLimit', [limitBody(other), limitBody(ns)], key);
      assert.equal(multi.status, 403, 'every namespace of the batch needs the permission');
      const look = await server().call('ratelimit.limit', limitBody(other, 'user_1', { cost: 0 }));
      assert.equal(look.body.data.remaining, 2, 'the refused batch charged nothing');
    });

    it('needs set_override, read_override (to list) and delete_override', async () => {
      const ns = unique('ovperm');
      await server().call('ratelimit.limit', limitBody(ns));
      await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'i', limit: 1, duration: 1000 });
      const key = await server().newRootKey(['ratelimit.*.limit']);
      const set = await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'i', limit: 2, duration: 1000 }, key);
      assert.equal(set.status, 403);
      assert.match(set.body.error.detail, /set_override/);
      const list = await server().call('ratelimit.listOverrides', { namespace: ns }, key);
      assert.equal(list.status, 403);
      const del = await server().call('ratelimit.deleteOverride', { namespace: ns, identifier: 'i' }, key);
      assert.equal(del.status, 403);
      const scoped = await server().newRootKey([`ratelimit.${await namespaceId(server(), ns)}.set_override`]);
      assert.equal((await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'i', limit: 2, duration: 1000 }, scoped)).status, 200);
    });
  });

  describe('404', () => {
    it('override operations do not create namespaces', async () => {
      const ns = unique('missing');
      for (const [op, body] of [
        ['ratelimit.setOverride', { namespace: ns, identifier: 'i', limit: 1, duration: 1000 }],
        ['ratelimit.getOverride', { namespace: ns, identifier: 'i' }],
        ['ratelimit.listOverrides', { namespace: ns }],
        ['ratelimit.deleteOverride', { namespace: ns, identifier: 'i' }],
      ] as const) {
        const res = await server().call(op, body);
        assert.equal(res.status, 404, op);
        assert.match(res.body.error.type, /ratelimit_namespace_not_found/);
      }
      assert.equal(await server().app.services.store.ratelimit.findNamespace(server().workspaceId, ns), undefined);
    });

    it('a missing override, and a read without permission, look the same', async () => {
      const ns = unique('mask');
      await server().call('ratelimit.limit', limitBody(ns));
      await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'exists', limit: 1, duration: 1000 });
      const missing = await server().call('ratelimit.getOverride', { namespace: ns, identifier: 'nope' });
      assert.equal(missing.status, 404);
      assert.match(missing.body.error.type, /ratelimit_override_not_found/);
      const key = await server().newRootKey(['ratelimit.*.limit']);
      const hidden = await server().call('ratelimit.getOverride', { namespace: ns, identifier: 'exists' }, key);
      assert.equal(hidden.status, 404);
      const absent = await server().call('ratelimit.getOverride', { namespace: ns, identifier: 'exists-not' }, key);
      const strip = (e: any) => ({ ...e, detail: e.detail.replace(/'[^']*'/, "'?'") });
      assert.deepEqual(strip(hidden.body.error), strip(absent.body.error));
      const del = await server().call('ratelimit.deleteOverride', { namespace: ns, identifier: 'nope' });
      assert.equal(del.status, 404);
    });

    it("hides another workspace's namespaces and overrides", async () => {
      const ns = unique('mine');
      await server().call('ratelimit.limit', limitBody(ns));
      await server().call('ratelimit.setOverride', { namespace: ns, identifier: 'i', limit: 1, duration: 1000 });
      const id = await namespaceId(server(), ns);
      const other = await server().newWorkspace();
      for (const ref of [ns, id]) {
        for (const [op, body] of [
          ['ratelimit.setOverride', { namespace: ref, identifier: 'i', limit: 5, duration: 1000 }],
          ['ratelimit.getOverride', { namespace: ref, identifier: 'i' }],
          ['ratelimit.listOverrides', { namespace: ref }],
          ['ratelimit.deleteOverride', { namespace: ref, identifier: 'i' }],
        ] as const) {
          assert.equal((await server().call(op, body, other.rootKey)).status, 404, `${op} ${ref}`);
        }
      }
      const noCreate = await server().newRootKey(['ratelimit.*.limit'], other.workspaceId);
      assert.equal((await server().call('ratelimit.limit', limitBody(id), noCreate)).status, 403);
      const mine = await server().call('ratelimit.getOverride', { namespace: ns, identifier: 'i' });
      assert.equal(mine.body.data.limit, 1, 'untouched by the other workspace');
    });
  });

  describe('410', () => {
    it('refuses limit checks in a deleted namespace, by name and by id', async () => {
      const ns = unique('old');
      await server().call('ratelimit.limit', limitBody(ns));
      const id = await namespaceId(server(), ns);
      await deleteNamespace(server(), ns);
      for (const ref of [ns, id]) {
        const res = await server().call('ratelimit.limit', limitBody(ref));
        assert.equal(res.status, 410, ref);
        assert.match(res.body.error.type, /ratelimit_namespace_gone/);
      }
      const multi = await server().call('ratelimit.multiLimit', [limitBody(unique('fine')), limitBody(ns)]);
      assert.equal(multi.status, 410);
      const overrides = await server().call('ratelimit.listOverrides', { namespace: ns });
      assert.equal(overrides.status, 404, 'override operations see no deleted namespace');
    });
  });
});
