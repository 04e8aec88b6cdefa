/** A batch of events as one array per field, as the writers read it (decoded from its chunks). */
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

/** Columns for `n` events, to be filled. */
export function emptyColumns(n: number): EventColumns {
  return {
    requestId: new Array(n), time: new Array(n), workspaceId: new Array(n), keySpaceId: new Array(n), keyId: new Array(n),
    identityId: new Array(n), externalId: new Array(n), outcome: new Array(n), nodeId: new Array(n), tags: new Array(n),
    spentCredits: new Array(n), latency: new Array(n),
  };
}
