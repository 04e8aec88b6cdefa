import assert from 'node:assert/strict';
import { Unkey } from '@unkey/api';

/** The official client pointed at a test server, retries off so server faults surface at once. */
export const sdk = (serverURL: string, rootKey: string) =>
  new Unkey({ rootKey, serverURL, retryConfig: { strategy: 'none' } });

/** Runs `fn`, expects it to throw an instance of `type`, and returns the error for further checks. */
export async function rejectsWith<T extends Error>(fn: () => Promise<unknown>, type: new (...args: any[]) => T): Promise<T> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    return err as T;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}
