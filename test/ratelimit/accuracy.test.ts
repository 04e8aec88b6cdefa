import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { clusterUnavailable, REDIS_URL, startTwoNodes, type TestServer } from '../harness.ts';

const CALLS = 500;
const LIMIT = 100;
let n = 0;
const unique = (base: string) => `${base}-${Date.now().toString(36)}-${++n}`;

/** Fires `CALLS` limit calls at once, spread over the given servers, and counts the successes. */
async function burst(servers: TestServer[], namespace: string, rootKey: string): Promise<number> {
  const body = { namespace, identifier: 'hot', limit: LIMIT, duration: 600_000 };
  const answers = await Promise.all(
    Array.from({ length: CALLS }, (_, i) => servers[i % servers.length].call('ratelimit.limit', body, rootKey)),
  );
  for (const a of answers) assert.equal(a.status, 200);
  return answers.filter((a) => a.body.data.success).length;
}

/** The counter of the identifier, read with a free call under a limit far above it. */
async function counted(server: TestServer, namespace: string, identifier: string, rootKey = server.rootKey): Promise<number> {
  const res = await server.call('ratelimit.limit', { namespace, identifier, limit: 1_000_000, duration: 600_000, cost: 0 }, rootKey);
  return 1_000_000 - res.body.data.remaining;
}

async function multiBurst(server: TestServer): Promise<void> {
  const tight = unique('tight');
  const loose = unique('loose');
  // Create both namespaces first, so the burst measures counting and not namespace creation.
  await server.call('ratelimit.multiLimit', [
    { namespace: tight, identifier: 'warmup', limit: 1, duration: 600_000 },
    { namespace: loose, identifier: 'warmup', limit: 1, duration: 600_000 },
  ]);
  const batch = [
    { namespace: tight, identifier: 'hot', limit: 50, duration: 600_000 },
    { namespace: loose, identifier: 'hot', limit: 1000, duration: 600_000 },
  ];
  const answers = await Promise.all(Array.from({ length: CALLS }, () => server.call('ratelimit.multiLimit', batch)));
  const passed = answers.filter((a) => a.body.data.passed).length;
  assert.equal(passed, 50);
  assert.equal(await counted(server, tight, 'hot'), 50);
  assert.equal(await counted(server, loose, 'hot'), 50, 'denied batches did not touch the looser limit');
}

await describeOnBackends('ratelimit accuracy, in-memory counters', (server) => {
  describe('200', () => {
    it(`${CALLS} concurrent calls against a limit of ${LIMIT} admit exactly ${LIMIT}`, async () => {
      const ns = unique('burst');
      assert.equal(await burst([server()], ns, server().rootKey), LIMIT, 'including the call that creates the namespace');
      assert.equal(await counted(server(), ns, 'hot'), LIMIT);
    });
    it('multiLimit with a tight and a loose limit admits exactly the tight one', async () => {
      await multiBurst(server());
    });
  });
});

await describeOnBackends(
  'ratelimit accuracy, Redis counters',
  (server) => {
    describe('200', () => {
      it(`${CALLS} concurrent calls against a limit of ${LIMIT} admit exactly ${LIMIT}`, async () => {
        const ns = unique('burst');
        assert.equal(await burst([server()], ns, server().rootKey), LIMIT);
        assert.equal(await counted(server(), ns, 'hot'), LIMIT);
      });
      it('multiLimit with a tight and a loose limit admits exactly the tight one', async () => {
        await multiBurst(server());
      });
    });
  },
  { env: { LATCHKEY_REDIS_URL: REDIS_URL } },
);

const clusterSkip = await clusterUnavailable('two-node ratelimit accuracy');
describe('ratelimit accuracy, two nodes sharing PostgreSQL and Redis', { skip: clusterSkip }, () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    [a, b] = await startTwoNodes();
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it(`${CALLS} concurrent calls spread over both nodes admit exactly ${LIMIT}`, async () => {
    const ns = unique('cluster');
    // Both nodes race to create the namespace too: they must end up with one namespace and one counter.
    assert.equal(await burst([a, b], ns, a.rootKey), LIMIT);
    assert.equal(await counted(a, ns, 'hot', a.rootKey), LIMIT);
    assert.equal(await counted(b, ns, 'hot', a.rootKey), LIMIT);
    assert.equal((await a.app.services.store.ratelimit.listNamespaces(a.workspaceId)).filter((x) => x.name === ns).length, 1);
  });
});
