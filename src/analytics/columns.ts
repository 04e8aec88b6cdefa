import type { VerificationEvent } from './types.ts';

/**
 * A batch of events as one array per field. This is how batches travel to the SQLite writer thread: one
 * JSON string of a dozen arrays costs a fraction of structured-cloning thousands of objects.
 */
export interface EventColumns {
  requestId: string[];
  time: number[];
  workspaceId: string[];
  keySpaceId: string[];
  keyId: string[];
  identityId: string[];
  externalId: string[];
  outcome: string[];
  nodeId: string[];
  tags: string[][];
  spentCredits: number[];
  latency: number[];
}

/** One batch out of the parts it travelled in. */
export function concatColumns(parts: EventColumns[]): EventColumns {
  if (parts.length === 1) return parts[0];
  const out = {} as Record<keyof EventColumns, unknown[]>;
  for (const field of Object.keys(parts[0]) as (keyof EventColumns)[]) out[field] = ([] as unknown[]).concat(...parts.map((p) => p[field]));
  return out as unknown as EventColumns;
}

export function toColumns(events: VerificationEvent[]): EventColumns {
  const n = events.length;
  const c: EventColumns = {
    requestId: new Array(n), time: new Array(n), workspaceId: new Array(n), keySpaceId: new Array(n), keyId: new Array(n),
    identityId: new Array(n), externalId: new Array(n), outcome: new Array(n), nodeId: new Array(n), tags: new Array(n),
    spentCredits: new Array(n), latency: new Array(n),
  };
  for (let i = 0; i < n; i++) {
    const e = events[i];
    c.requestId[i] = e.requestId;
    c.time[i] = e.time;
    c.workspaceId[i] = e.workspaceId;
    c.keySpaceId[i] = e.keySpaceId;
    c.keyId[i] = e.keyId;
    c.identityId[i] = e.identityId;
    c.externalId[i] = e.externalId;
    c.outcome[i] = e.outcome;
    c.nodeId[i] = e.nodeId;
    c.tags[i] = e.tags;
    c.spentCredits[i] = e.spentCredits;
    c.latency[i] = e.latency;
  }
  return c;
}
