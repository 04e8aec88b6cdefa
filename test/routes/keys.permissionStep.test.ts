import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { newApi, newKey, verifierOf } from '../keyHelpers.ts';
import { Principal } from '../../src/http/auth.ts';
import { ALL_ROOT_PERMISSIONS } from '../../src/core/rootPermissions.ts';
import type { PermissionEvaluator } from '../../src/core/verify.ts';

// The INSUFFICIENT_PERMISSIONS step sits between EXPIRED and RATE_LIMITED. The query language belongs to
// the RBAC module; here an evaluator that grants exactly the slug `granted` stands in for it, over the real
// store, cache and limiter of a running server.
await describeOnBackends('verify: the permission step', (server) => {
  const verifierWith = (evaluatePermissions: PermissionEvaluator) => verifierOf(server(), evaluatePermissions);
  const principal = () => new Principal('key_root', server().workspaceId, ALL_ROOT_PERMISSIONS);
  const evaluator: PermissionEvaluator = (query) => query === 'granted';

  describe('200', () => {
    it('fails a query the key does not satisfy, spending no rate limit and no credits', async () => {
      const apiId = await newApi(server());
      const { key, keyId } = await newKey(server(), apiId, {
        credits: { remaining: 5 },
        ratelimits: [{ name: 'one-per-minute', limit: 1, duration: 60_000, autoApply: true }],
      });
      const verifier = verifierWith(evaluator);
      const denied = await verifier.verify(principal(), { key, permissions: 'missing' }, 'req_test1');
      assert.equal(denied.code, 'INSUFFICIENT_PERMISSIONS');
      assert.equal(denied.valid, false);
      assert.equal(denied.keyId, keyId);
      assert.equal(denied.ratelimits, undefined);
      const allowed = await verifier.verify(principal(), { key, permissions: 'granted' }, 'req_test2');
      assert.equal(allowed.code, 'VALID');
      assert.equal(allowed.credits, 4, 'the denied call spent nothing');
      assert.equal(allowed.ratelimits?.[0].remaining, 0, 'the denied call took no rate-limit token');
    });

    it('DISABLED and EXPIRED come before the permission step', async () => {
      const apiId = await newApi(server());
      const disabled = await newKey(server(), apiId, { enabled: false });
      const expired = await newKey(server(), apiId, { expires: Date.now() - 1 });
      const verifier = verifierWith(evaluator);
      assert.equal((await verifier.verify(principal(), { key: disabled.key, permissions: 'missing' }, 'req_t3')).code, 'DISABLED');
      assert.equal((await verifier.verify(principal(), { key: expired.key, permissions: 'missing' }, 'req_t4')).code, 'EXPIRED');
    });
  });
});
