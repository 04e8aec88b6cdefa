/** One verification outcome, as recorded for analytics. */
export interface VerificationEvent {
  requestId: string;
  /** Unix ms. */
  time: number;
  workspaceId: string;
  keySpaceId: string;
  keyId: string;
  /** Identity id and externalId as they were at the moment of verification; empty strings when none. */
  identityId: string;
  externalId: string;
  outcome: string;
  tags: string[];
  spentCredits: number;
  /** Server-side time spent on the verification, in ms. */
  latency: number;
  nodeId: string;
}

/**
 * Where the verify pipeline hands its events. `record` must return at once and never throw: recording
 * may never slow or fail a verification.
 */
export interface AnalyticsSink {
  record(event: VerificationEvent): void;
  /** Writes everything buffered; called on graceful shutdown. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
