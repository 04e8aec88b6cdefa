import type { VerificationEvent } from '../../src/analytics/types.ts';
import { emptyColumns, type EventColumns } from '../../src/analytics/columns.ts';
import type { PersistentSink } from '../../src/analytics/sink.ts';
import type { TestServer } from '../harness.ts';

let seq = 0;

/** A verification event with sensible defaults, for feeding the sink directly. */
export function event(workspaceId: string, fields: Partial<VerificationEvent> = {}): VerificationEvent {
  seq++;
  return {
    requestId: `req_test${seq}`,
    time: Date.UTC(2030, 0, 15, 12),
    workspaceId,
    keySpaceId: 'ks_main',
    keyId: 'key_main',
    identityId: '',
    externalId: '',
    outcome: 'VALID',
    tags: [],
    spentCredits: 0,
    latency: 0.5,
    nodeId: 'node-test',
    ...fields,
  };
}

export function sinkOf(server: TestServer): PersistentSink {
  return server.app.services.analytics as PersistentSink;
}

/** Records the events and writes them out. */
export async function record(server: TestServer, events: VerificationEvent[]): Promise<void> {
  const sink = sinkOf(server);
  for (const e of events) sink.record(e);
  await sink.flush();
}

/** Runs an analytics query over HTTP and returns its rows; fails on any status but 200. */
export async function query(server: TestServer, sql: string, rootKey?: string): Promise<any[]> {
  const res = await server.call('analytics.getVerifications', { query: sql }, rootKey);
  if (res.status !== 200) throw new Error(`query answered ${res.status}: ${JSON.stringify(res.body.error)}\n${sql}`);
  return res.body.data;
}

/** Events as columns, field by field: the reference the encoded chunks and the rollups are checked against. */
export function toColumns(events: VerificationEvent[]): EventColumns {
  const c = emptyColumns(events.length);
  events.forEach((e, i) => {
    for (const field of Object.keys(c) as (keyof EventColumns)[]) (c[field] as unknown[])[i] = e[field];
  });
  return c;
}
