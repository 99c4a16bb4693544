import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';

// Prometheus metrics of one server instance, in a registry of its own (no
// process-wide state: two servers in one process, as in the tests, do not
// share counters). Labels carry client names, purposes, outcomes and
// operation types, all from bounded sets; never a subject, an id, a query
// or a header value as sent.

export const METRICS_PATH = '/metrics';

/** What the webhook dispatcher reports (src/propagation/dispatcher.ts). */
export interface PropagationMetrics {
  /** A delivery succeeded, `lagMs` after its consent change was recorded. */
  delivered(lagMs: number): void;
  /** A delivery was dead-lettered: retries exhausted, or its target refused. */
  deadLettered(reason: 'exhausted' | 'refused'): void;
}

/** Where a consent write is counted: once per recorded event (fed by the database's consentRecorded signal). */
export interface ConsentWriteMetrics {
  consentWritten(event: { purpose: string; action: string; source: string }, count?: number): void;
}

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC) too; once per process. */
  defaultMetrics?: boolean;
  prefix?: string;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export class Metrics implements PropagationMetrics, ConsentWriteMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'client' | 'purpose' | 'outcome'>;
  readonly duration: Histogram<'client' | 'purpose' | 'operation_type'>;
  readonly maskedValues: Counter<'client' | 'purpose'>;
  readonly excludedRows: Counter<'client' | 'purpose'>;
  readonly consentWrites: Counter<'purpose' | 'action' | 'source'>;
  readonly deliveryLag: Histogram<never>;
  readonly deadLetters: Counter<'reason'>;
  private readonly prefix: string;
  private databaseAttached = false;

  constructor(options: MetricsOptions = {}) {
    this.prefix = options.prefix ?? 'consentql_';
    const p = this.prefix;
    const registers = [this.registry];
    this.requests = new Counter({
      name: `${p}requests_total`,
      help: 'HTTP requests to the GraphQL endpoint, by client, declared purpose and outcome (ok, or the first error code).',
      labelNames: ['client', 'purpose', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: `${p}request_duration_seconds`,
      help: 'Time to answer a GraphQL request (to the start of the stream for subscriptions).',
      labelNames: ['client', 'purpose', 'operation_type'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.maskedValues = new Counter({
      name: `${p}masked_values_total`,
      help: 'Field values masked because they do not serve the declared purpose (or need a stricter consent).',
      labelNames: ['client', 'purpose'],
      registers,
    });
    this.excludedRows = new Counter({
      name: `${p}excluded_rows_total`,
      help: 'Subjects left out for lack of a legal basis, where counted (X-Consent-Explain with totalCount).',
      labelNames: ['client', 'purpose'],
      registers,
    });
    this.consentWrites = new Counter({
      name: `${p}consent_writes_total`,
      help: 'Consent events recorded, by purpose, action and source.',
      labelNames: ['purpose', 'action', 'source'],
      registers,
    });
    this.deliveryLag = new Histogram({
      name: `${p}webhook_delivery_lag_seconds`,
      help: 'From a consent change being recorded to its webhook being delivered.',
      buckets: LAG_BUCKETS,
      registers,
    });
    this.deadLetters = new Counter({
      name: `${p}webhook_dead_letters_total`,
      help: 'Webhook deliveries given up: retries exhausted, or the target refused by the allow-list.',
      labelNames: ['reason'],
      registers,
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: p });
  }

  delivered(lagMs: number): void {
    this.deliveryLag.observe(Math.max(0, lagMs) / 1000);
  }

  deadLettered(reason: 'exhausted' | 'refused'): void {
    this.deadLetters.inc({ reason });
  }

  consentWritten(event: { purpose: string; action: string; source: string }, count = 1): void {
    this.consentWrites.inc({ purpose: event.purpose, action: event.action, source: event.source }, count);
  }

  /** Gauges read at scrape time: the access log queue. */
  attachAccessLog(accessLog: { pending: number; maxQueue: number; writtenCount: number; failedFlushes: number }): void {
    const p = this.prefix;
    new Counter({
      name: `${p}access_records_written_total`,
      help: 'Access records written to the database.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(accessLog.writtenCount);
      },
    });
    new Counter({
      name: `${p}access_record_flush_failures_total`,
      help: 'Failed writes of a batch of access records (the batch stayed queued and was retried).',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(accessLog.failedFlushes);
      },
    });
    new Gauge({
      name: `${p}access_records_pending`,
      help: 'Access records waiting in memory to be written.',
      registers: [this.registry],
      collect() {
        this.set(accessLog.pending);
      },
    });
    new Gauge({
      name: `${p}access_records_queue_limit`,
      help: 'Access records waiting beyond which reads of personal data are refused.',
      registers: [this.registry],
      collect() {
        this.set(accessLog.maxQueue);
      },
    });
  }

  /** Gauges read at scrape time: the connection pool and the propagation backlog (one query, bounded by `timeoutMs`). */
  attachDatabase(db: Database, logger: Logger, timeoutMs = 1_000): void {
    if (this.databaseAttached) return;
    this.databaseAttached = true;
    const p = this.prefix;
    const pool = db.pool;
    // Every consent event committed through this database handle, whichever path recorded it (API, consent center, GPC).
    db.signals.consentRecorded.on((events) => {
      for (const e of events) this.consentWritten({ purpose: e.purposeKey, action: e.action, source: e.source });
    });
    new Gauge({
      name: `${p}db_pool_connections`,
      help: 'Connections of the database pool: total open, idle, and requests waiting for one.',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
    new Gauge({
      name: `${p}db_pool_max`,
      help: 'The most connections the pool opens.',
      registers: [this.registry],
      collect() {
        this.set((pool.options as { max?: number }).max ?? 10);
      },
    });
    new Gauge({
      name: `${p}propagation_backlog`,
      help: 'Consent changes not yet fanned out to webhooks (outbox), and webhook deliveries pending; absent when the database did not answer.',
      labelNames: ['queue'],
      registers: [this.registry],
      async collect() {
        let timer: NodeJS.Timeout | undefined;
        try {
          const { rows } = await Promise.race([
            pool.query<{ outbox: number; deliveries: number }>(
              `SELECT (SELECT count(*) FROM outbox_event WHERE dispatched_at IS NULL)::int AS outbox,
                      (SELECT count(*) FROM webhook_delivery WHERE status = 'PENDING')::int AS deliveries`,
            ),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          this.set({ queue: 'outbox' }, rows[0].outbox);
          this.set({ queue: 'deliveries' }, rows[0].deliveries);
        } catch (error) {
          this.reset();
          logger.warn({ err: error }, 'metrics: could not read the propagation backlog');
        } finally {
          clearTimeout(timer);
        }
      },
    });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/** Constant-time comparison of a presented bearer token with the configured one. */
export function bearerMatches(authorization: string | null, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

/**
 * GET /metrics on the API port, only with `Authorization: Bearer <token>`.
 * Without a token configured the path does not exist here (404, as any other).
 */
export function useMetricsEndpoint(metrics: Metrics, token: string | undefined): Plugin {
  return {
    async onRequest({ url, request, endResponse, fetchAPI }) {
      if (url.pathname !== METRICS_PATH || !token) return;
      if (!bearerMatches(request.headers.get('authorization'), token)) {
        endResponse(
          new fetchAPI.Response(
            JSON.stringify({
              errors: [
                {
                  message: 'Scraping /metrics needs Authorization: Bearer <CONSENTQL_METRICS_TOKEN>.',
                  extensions: { code: 'UNAUTHENTICATED' },
                },
              ],
            }),
            {
              status: 401,
              headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="metrics"' },
            },
          ),
        );
        return;
      }
      const { body, contentType } = await metrics.scrape();
      endResponse(new fetchAPI.Response(body, { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' } }));
    },
  };
}

/**
 * A listener of its own for /metrics (CONSENTQL_METRICS_PORT), for a network
 * only the scraper reaches; a token, when set, is required there too.
 */
export async function startMetricsServer(
  metrics: Metrics,
  options: { port: number; host: string; token?: string },
): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`Only GET ${METRICS_PATH} is served here.\n`);
      return;
    }
    if (options.token && !bearerMatches(req.headers.authorization ?? null, options.token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"' }).end();
      return;
    }
    metrics.scrape().then(
      ({ body, contentType }) => res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}${METRICS_PATH}` };
}
