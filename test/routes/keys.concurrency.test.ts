import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { newApi, newKey } from '../keyHelpers.ts';
import type { TestServer } from '../harness.ts';

/** Fires the verifications all at once over HTTP and counts the outcomes. */
async function hammer(server: TestServer, bodies: Record<string, unknown>[]): Promise<Record<string, number>> {
  const answers = await Promise.all(
    bodies.map(async (body) => {
      const res = await fetch(`${server.url}/v2/keys.verifyKey`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.rootKey}` },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as any).data.code as string;
    }),
  );
  const counts: Record<string, number> = {};
  for (const code of answers) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

await describeOnBackends('exactness under concurrency', (server) => {
  describe('200', () => {
    it('200 parallel verifications of a key with 50 credits give exactly 50 VALID', async () => {
      const apiId = await newApi(server());
      const { key, keyId } = await newKey(server(), apiId, { credits: { remaining: 50 } });
      const counts = await hammer(server(), Array.from({ length: 200 }, () => ({ key })));
      assert.deepEqual(counts, { VALID: 50, USAGE_EXCEEDED: 150 });
      const got = await server().call('keys.getKey', { keyId });
      assert.equal(got.body.data.credits.remaining, 0);
    });

    it('mixed costs never overspend', async () => {
      const apiId = await newApi(server());
      const { key, keyId } = await newKey(server(), apiId, { credits: { remaining: 100 } });
      const bodies = Array.from({ length: 120 }, (_, i) => ({ key, credits: { cost: (i % 3) + 1 } }));
      const answers = await Promise.all(
        bodies.map(async (body) => {
          const res = await fetch(`${server().url}/v2/keys.verifyKey`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${server().rootKey}` },
            body: JSON.stringify(body),
          });
          return { cost: body.credits.cost, code: ((await res.json()) as any).data.code };
        }),
      );
      const spent = answers.filter((a) => a.code === 'VALID').reduce((sum, a) => sum + a.cost, 0);
      const got = await server().call('keys.getKey', { keyId });
      assert.equal(got.body.data.credits.remaining, 100 - spent);
      assert.ok(spent <= 100 && spent >= 98, `spent ${spent}: once the balance is under 3 only smaller costs pass`);
    });

    it('three keys of one identity with a shared limit of 10 per minute give exactly 10 VALID', async () => {
      const apiId = await newApi(server());
      await server().call('identities.createIdentity', {
        externalId: 'hammered',
        ratelimits: [{ name: 'org-limit', limit: 10, duration: 60_000, autoApply: true }],
      });
      const keys: string[] = [];
      for (let i = 0; i < 3; i++) keys.push((await newKey(server(), apiId, { externalId: 'hammered' })).key);
      // Right after a minute boundary the window admits one more (the previous minute's 10 weigh floor(9.99)),
      // which is the window's arithmetic, not a race: start well inside a minute.
      const intoMinute = Date.now() % 60_000;
      if (intoMinute > 55_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 100));
      const counts = await hammer(server(), Array.from({ length: 150 }, (_, i) => ({ key: keys[i % 3] })));
      assert.deepEqual(counts, { VALID: 10, RATE_LIMITED: 140 });
    });
  });
});
