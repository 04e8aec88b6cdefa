import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Overrides, Ratelimit } from '@unkey/ratelimit';
import { Unkey } from '@unkey/api';
import * as sdkErrors from '@unkey/api/models/errors';
import { describeOnBackends } from '../routes.ts';
import type { TestServer } from '../harness.ts';

let n = 0;
const unique = (base: string) => `${base}-${Date.now().toString(36)}-${++n}`;

/** Counts the HTTP requests that reach the server, whatever route they take. */
function requestCounter(server: TestServer): { count(): number; stop(): void } {
  let requests = 0;
  const onRequest = () => requests++;
  server.app.server.server.on('request', onRequest);
  return { count: () => requests, stop: () => void server.app.server.server.off('request', onRequest) };
}

await describeOnBackends('official clients against ratelimit.*', (server) => {
  const unkey = () => new Unkey({ rootKey: server().rootKey, serverURL: server().url, retryConfig: { strategy: 'none' } });

  describe('200', () => {
    it('@unkey/ratelimit limits, and answers a cached rejection without asking the server', async () => {
      const rl = new Ratelimit({ rootKey: server().rootKey, namespace: unique('sdk'), limit: 2, duration: '60s', baseUrl: server().url });
      const counter = requestCounter(server());
      try {
        const first = await rl.limit('user_1');
        assert.equal(first.success, true);
        assert.equal(first.remaining, 1);
        assert.ok(first.reset > Date.now() && first.reset <= Date.now() + 60_000, 'reset is a unix-ms time in this window');
        assert.equal((await rl.limit('user_1')).success, true);
        const rejected = await rl.limit('user_1');
        assert.equal(rejected.success, false);
        assert.equal(counter.count(), 3);
        const cached = await rl.limit('user_1');
        assert.deepEqual(cached, rejected);
        assert.equal(counter.count(), 3, 'the second rejection came from the client cache');
        assert.equal((await rl.limit('user_2')).success, true, 'other identifiers still reach the server');
        assert.equal(counter.count(), 4);
      } finally {
        counter.stop();
      }
    });

    it('@unkey/ratelimit sends cost and per-call limits', async () => {
      const rl = new Ratelimit({ rootKey: server().rootKey, namespace: unique('sdk'), limit: 10, duration: 60_000, baseUrl: server().url });
      assert.equal((await rl.limit('u', { cost: 4 })).remaining, 6);
      const custom = await rl.limit('u', { limit: { limit: 100, duration: '1m' } });
      assert.equal(custom.limit, 100);
      assert.equal(custom.remaining, 95, 'same counter: same namespace, identifier and duration');
    });

    it('@unkey/ratelimit Overrides manage overrides that the next limit call obeys', async () => {
      const namespace = unique('sdk-ov');
      const rl = new Ratelimit({ rootKey: server().rootKey, namespace, limit: 10, duration: '60s', baseUrl: server().url });
      await rl.limit('vip_1');
      const overrides = new Overrides({ rootKey: server().rootKey, baseUrl: server().url });
      const set = await overrides.setOverride({ namespace, identifier: 'vip_*', limit: 1000, duration: 60_000 });
      const res = await rl.limit('vip_1');
      assert.equal(res.limit, 1000);
      assert.equal(res.overrideId, set.data.overrideId);
      const got = await overrides.getOverride({ namespace, identifier: 'vip_*' });
      assert.deepEqual(got.data, { overrideId: set.data.overrideId, identifier: 'vip_*', limit: 1000, duration: 60_000 });
      const list = await overrides.listOverrides({ namespace });
      assert.deepEqual(list.data.map((o) => o.identifier), ['vip_*']);
      await overrides.deleteOverride({ namespace, identifier: 'vip_*' });
      assert.equal((await rl.limit('vip_1')).limit, 10);
    });

    it('@unkey/api ratelimit.* methods work end to end', async () => {
      const namespace = unique('api-sdk');
      const client = unkey();
      const limited = await client.ratelimit.limit({ namespace, identifier: 'a', limit: 1, duration: 60_000 });
      assert.equal(limited.data.success, true);
      assert.equal((await client.ratelimit.limit({ namespace, identifier: 'a', limit: 1, duration: 60_000 })).data.success, false);
      const multi = await client.ratelimit.multiLimit([
        { namespace, identifier: 'b', limit: 5, duration: 60_000 },
        { namespace, identifier: 'c', limit: 5, duration: 60_000, cost: 5 },
      ]);
      assert.equal(multi.data.passed, true);
      assert.deepEqual(multi.data.limits.map((l) => l.remaining), [4, 0]);
      const set = await client.ratelimit.setOverride({ namespace, identifier: 'd*', limit: 3, duration: 1000 });
      const got = await client.ratelimit.getOverride({ namespace, identifier: 'd*' });
      assert.equal(got.data.overrideId, set.data.overrideId);
      for (let i = 0; i < 3; i++) await client.ratelimit.setOverride({ namespace, identifier: `page_${i}`, limit: i, duration: 1000 });
      const pages = [];
      for await (const page of await client.ratelimit.listOverrides({ namespace, limit: 2 })) pages.push(page.result.data.length);
      assert.deepEqual(pages, [2, 2]);
      assert.deepEqual((await client.ratelimit.deleteOverride({ namespace, identifier: 'd*' })).data, {});
    });
  });

  describe('4xx', () => {
    it('@unkey/api surfaces 403, 404 and 410 as typed errors', async () => {
      const namespace = unique('api-err');
      const noCreate = new Unkey({
        rootKey: await server().newRootKey(['ratelimit.*.limit']),
        serverURL: server().url,
        retryConfig: { strategy: 'none' },
      });
      await assert.rejects(
        noCreate.ratelimit.limit({ namespace, identifier: 'a', limit: 1, duration: 60_000 }),
        (e: unknown) => e instanceof sdkErrors.ForbiddenErrorResponse && /create_namespace/.test(e.error.detail),
      );
      await assert.rejects(
        unkey().ratelimit.getOverride({ namespace, identifier: 'x' }),
        (e: unknown) => e instanceof sdkErrors.NotFoundErrorResponse,
      );
      await unkey().ratelimit.limit({ namespace, identifier: 'a', limit: 1, duration: 60_000 });
      await server().app.services.store.ratelimit.deleteNamespace(server().workspaceId, namespace);
      server().app.services.namespaces.evict(server().workspaceId);
      await assert.rejects(
        unkey().ratelimit.limit({ namespace, identifier: 'a', limit: 1, duration: 60_000 }),
        (e: unknown) => e instanceof sdkErrors.GoneErrorResponse,
      );
    });
  });
});
