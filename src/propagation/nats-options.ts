// The settings of the NATS JetStream sink (read from the environment by
// src/config.ts: CONSENTQL_NATS_*).

export interface NatsSinkOptions {
  /** Servers to connect to (nats://host:port, comma-separated in the environment). */
  servers: string[];
  /** The JetStream stream the changes go to; created when missing. */
  stream: string;
  /** Subjects are `<prefix>.<purpose>`. */
  subjectPrefix: string;
  /** The stream's duplicate window when this sink creates it: a message id published again within it is dropped by JetStream. */
  duplicateWindowMs: number;
  /** A publish not acknowledged within this counts as failed, and is published again. */
  publishTimeoutMs: number;
}

export const DEFAULT_NATS_STREAM = 'CONSENTQL_CHANGES';
export const DEFAULT_NATS_SUBJECT_PREFIX = 'consentql.changes';

/** How long a worker holds the sink: it outlasts a publish, so only a dead (or stuck) worker's lease runs out. */
export function sinkLeaseMs(publishTimeoutMs: number): number {
  return publishTimeoutMs * 2 + 5000;
}
