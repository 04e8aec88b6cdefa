import { Verifier } from '../src/verify/verifier.ts';
import type { PermissionEvaluator } from '../src/core/verify.ts';
import type { TestServer } from './harness.ts';

/** Creates an API and returns its id. */
export async function newApi(server: TestServer, name = 'test-api'): Promise<string> {
  const res = await server.call('apis.createApi', { name });
  if (res.status !== 200) throw new Error(`createApi answered ${res.status}`);
  return res.body.data.apiId;
}

/** Creates a key in the API with the given fields and returns `{keyId, key}`. */
export async function newKey(server: TestServer, apiId: string, fields: Record<string, unknown> = {}): Promise<{ keyId: string; key: string }> {
  const res = await server.call('keys.createKey', { apiId, ...fields });
  if (res.status !== 200) throw new Error(`createKey answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** Verifies a key and returns the answer's data (the status must be 200). */
export async function verify(server: TestServer, body: Record<string, unknown>, rootKey?: string): Promise<any> {
  const res = await server.call('keys.verifyKey', body, rootKey);
  if (res.status !== 200) throw new Error(`verifyKey answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** POSTs without the contract check, for statuses the published document does not list (e.g. 412). */
export async function rawCall(server: TestServer, operation: string, body: unknown, rootKey = server.rootKey) {
  const res = await fetch(`${server.url}/v2/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${rootKey}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** A clock tests move by hand. */
export function manualClock(start: number) {
  let now = start;
  return {
    now: () => now,
    set(t: number) {
      now = t;
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

/** A Verifier over the running server's real store, cache, limiter and analytics sink. */
export function verifierOf(server: TestServer, evaluatePermissions?: PermissionEvaluator): Verifier {
  const services = server.app.services;
  return new Verifier({
    keys: services.store.keys,
    cache: services.cache,
    limiter: services.limiter,
    analytics: services.analytics,
    clock: services.clock,
    nodeId: 'test',
    evaluatePermissions,
  });
}
