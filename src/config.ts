import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { parseHmacKeys } from './masking/keyring.ts';
import type { HmacKeyring } from './masking/types.ts';
import type { DeploymentMode } from './policy/types.ts';
import { DEFAULT_RETRY_SCHEDULE, parseDurations, type PropagationOptions } from './propagation/config.ts';
import { DEFAULT_NATS_STREAM, DEFAULT_NATS_SUBJECT_PREFIX, sinkLeaseMs, type NatsSinkOptions } from './propagation/nats-options.ts';
import { parseAllowHosts, targetPolicy } from './propagation/targets.ts';

// Every setting of every process (server, worker, scripts) comes from the
// environment and is read here, once: validated together, so that one start
// reports every problem at once instead of one failed start per problem;
// secrets parsed once and handed down from the composition root (src/app.ts).
// docs/DEPLOYMENT.md lists each setting.

const DEV_PROOF_KEY = 'consentql-development-proof-key';

const flag = (meaning: string) => z.enum(['0', '1'], { message: `must be 1 (${meaning}) or 0` }).default('0');
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        const values = parseDurations(text);
        if (values.length === 1) return values[0];
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: `expects one duration such as "500ms", "10s" or "5m", but got ${JSON.stringify(text)}` });
      return z.NEVER;
    });

const ms = z.coerce.number().int().min(0);

const database = {
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('.data'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).optional(),
  DATABASE_STATEMENT_TIMEOUT: ms.default(30_000),
  DATABASE_CONNECT_TIMEOUT: ms.default(10_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: ms.optional(),
};

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  CONSENTQL_ROLE: z.enum(['all', 'api', 'worker'], { message: 'must be all (API and delivery), api or worker' }).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // HTTP
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  CONSENTQL_TRUSTED_PROXIES: z.string().transform(list).pipe(z.array(z.string()).superRefine(addressesOrRanges)).default([]),
  CONSENTQL_MAX_BODY_BYTES: z.coerce.number().int().min(1_000).max(100_000_000).default(100_000),
  // Bulk consent import (src/http/consent-import.ts)
  CONSENTQL_MAX_IMPORT_BYTES: z.coerce.number().int().min(1_000).max(10_000_000_000).default(200_000_000),
  CONSENTQL_IMPORT_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(1_000),
  CONSENTQL_CORS_ORIGINS: z.string().transform(list).pipe(z.array(z.string()).superRefine(origins)).default([]),
  CONSENTQL_MAX_SUBSCRIPTIONS_PER_CLIENT: z.coerce.number().int().min(1).default(10),
  // Extracts (src/http/extracts.ts): each holds two database connections of its own while it runs
  CONSENTQL_MAX_EXTRACTS: z.coerce.number().int().min(1).max(100).default(4),
  CONSENTQL_DEBUG_ERRORS: flag('unexpected errors carry their message and stack to clients'),
  CONSENTQL_SHUTDOWN_TIMEOUT: ms.max(600_000).default(10_000),
  CONSENTQL_READINESS_TIMEOUT: ms.min(1).max(60_000).default(2_000),
  // Metrics (src/http/metrics.ts)
  CONSENTQL_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (e.g. $(openssl rand -hex 32))').optional(),
  CONSENTQL_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  CONSENTQL_METRICS_HOST: z.string().default('127.0.0.1'),
  // Access records (src/audit/access-log.ts)
  CONSENTQL_AUDIT_FLUSH_INTERVAL: ms.min(1).max(60_000).default(200),
  CONSENTQL_AUDIT_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  CONSENTQL_AUDIT_MAX_QUEUE: z.coerce.number().int().min(1).default(50_000),
  CONSENTQL_ACCESS_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
  // Database
  ...database,
  CONSENTQL_EMBEDDED_IN_PRODUCTION: flag('run production on the embedded database'),
  // Policy and keys
  CONSENTQL_MODE: z.enum(['per-jurisdiction', 'strictest']).default('per-jurisdiction'),
  CONSENTQL_HMAC_KEYS: z.string().optional(),
  CONSENTQL_PROOF_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  // Cost and rate limits per request and per client (src/http/cost-limit.ts)
  CONSENTQL_MAX_ROWS: z.coerce.number().int().min(1).default(50_000),
  CONSENTQL_RATE_LIMIT: z
    .string()
    .regex(/^(off|\d+(\.\d+)?)$/, 'must be requests per second per client (e.g. 50), or off')
    .optional(),
  CONSENTQL_RATE_LIMIT_BURST: z.coerce.number().int().min(1).optional(),
  // Propagation (src/propagation/)
  CONSENTQL_WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default(DEFAULT_RETRY_SCHEDULE)
    .transform((text, ctx) => {
      try {
        return parseDurations(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  CONSENTQL_WEBHOOK_TIMEOUT: duration('10s'),
  CONSENTQL_PROPAGATION_POLL: duration('1s'),
  CONSENTQL_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(32),
  CONSENTQL_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION: z.coerce.number().int().min(1).max(100).optional(),
  CONSENTQL_WEBHOOK_ALLOW_HOSTS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const hosts = parseAllowHosts(text);
      try {
        targetPolicy(hosts); // a typo fails at start-up, not at the first delivery
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
      return hosts;
    }),
  CONSENTQL_WEBHOOK_DISPATCH: z.enum(['on', 'off']).default('on'),
  // Delivery workers (npm run worker) and the NATS JetStream sink (src/propagation/nats-sink.ts)
  CONSENTQL_WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(4100),
  CONSENTQL_NATS_URL: z
    .string()
    .transform(list)
    .pipe(
      z
        .array(
          z
            .string()
            .regex(/^(nats|tls):\/\/[^\s/]+$|^[^\s/:]+(:\d+)?$/, 'expects NATS server URLs such as nats://127.0.0.1:4222, comma-separated'),
        )
        .min(1),
    )
    .optional(),
  CONSENTQL_NATS_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expects a JetStream stream name: letters, digits, _ and -')
    .default(DEFAULT_NATS_STREAM),
  CONSENTQL_NATS_SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'expects dot-separated subject tokens without wildcards, e.g. consentql.changes')
    .default(DEFAULT_NATS_SUBJECT_PREFIX),
  CONSENTQL_NATS_DUPLICATE_WINDOW: duration('2m'),
  CONSENTQL_NATS_PUBLISH_TIMEOUT: duration('5s'),
});

type Env = z.infer<typeof schema>;

/** The name of every setting (docs/DEPLOYMENT.md has a row for each; a test keeps them equal). */
export const SETTINGS: readonly string[] = Object.keys(schema.shape);

/** Rules across variables, checked on the raw values so that they are reported with every other problem. */
function crossProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const batch = Number(env.CONSENTQL_AUDIT_BATCH_SIZE ?? 500);
  if (env.CONSENTQL_AUDIT_MAX_QUEUE !== undefined && Number(env.CONSENTQL_AUDIT_MAX_QUEUE) < batch) {
    problems.push('CONSENTQL_AUDIT_MAX_QUEUE: must be at least CONSENTQL_AUDIT_BATCH_SIZE');
  }
  if (env.NODE_ENV !== 'production') return problems;
  // A worker records no consent, so it hashes no address.
  if (!env.CONSENTQL_PROOF_KEY && env.CONSENTQL_ROLE !== 'worker') {
    problems.push(
      'CONSENTQL_PROOF_KEY: is required in production (the key that hashes IP addresses in proofs of consent; e.g. $(openssl rand -base64 32))',
    );
  }
  if (!env.DATABASE_URL && env.CONSENTQL_EMBEDDED_IN_PRODUCTION !== '1') {
    problems.push(
      'DATABASE_URL: is required in production (without it ConsentQL runs on the embedded database: PGlite in DATA_DIR, ' +
        'one process on one disk, with no replication, no point-in-time backups and no second instance); ' +
        'set DATABASE_URL=postgresql://…, or CONSENTQL_EMBEDDED_IN_PRODUCTION=1 to run production on the embedded database deliberately',
    );
  }
  return problems;
}

/** A comma-separated list, entries trimmed, empty ones dropped. */
function list(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function addressesOrRanges(entries: string[], ctx: z.RefinementCtx): void {
  const invalid = entries.filter((entry) => !isAddressOrRange(entry));
  if (invalid.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expects IP addresses or CIDR ranges of the proxies in front of ConsentQL (e.g. 10.0.0.0/8,192.0.2.10), but got ${invalid.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  }
}

export function isAddressOrRange(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

function origins(entries: string[], ctx: z.RefinementCtx): void {
  const invalid = entries.filter((entry) => {
    try {
      const url = new URL(entry);
      return !['http:', 'https:'].includes(url.protocol) || url.origin !== entry.replace(/\/$/, '');
    } catch {
      return true;
    }
  });
  if (invalid.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expects the exact origins allowed to call the API from a browser (scheme, host and port, e.g. https://app.example.com), but got ${invalid.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  }
}

export type Environment = 'development' | 'production' | 'test';
/** What one process does: serve the API, deliver consent changes downstream, or both (the default). */
export type Role = 'all' | 'api' | 'worker';

export interface DatabaseConfig {
  /** PostgreSQL; unset: the embedded PGlite in `dataDir`. */
  url: string | undefined;
  dataDir: string;
  poolSize: number | undefined;
  /** PostgreSQL only: the longest one statement may run, in ms (0: no limit). */
  statementTimeoutMs: number;
  /** PostgreSQL only: the longest a transaction may stay idle, in ms; the statement timeout when unset. */
  idleInTransactionTimeoutMs: number | undefined;
  /** The longest a new connection may take, in ms (0: no limit). */
  connectTimeoutMs: number;
}

export interface HttpConfig {
  port: number;
  host: string;
  /** Addresses and CIDR ranges of the proxies whose X-Forwarded-For is believed; none by default. */
  trustedProxies: string[];
  /** The largest request body the GraphQL endpoint reads, in bytes; more is PAYLOAD_TOO_LARGE (413). */
  maxBodyBytes: number;
  /** The largest body POST /consent/import reads, in bytes (it streams: memory does not grow with it). */
  maxImportBytes: number;
  /** Imported lines per transaction, each holding the ledger lock while it is written. */
  importBatchSize: number;
  /** Origins that browsers may call the API from (CORS); none by default: no CORS headers at all. */
  corsOrigins: string[];
  /** Open subscriptions one client may hold on one instance; one more is TOO_MANY_SUBSCRIPTIONS. */
  maxSubscriptionsPerClient: number;
  /** Extracts running at once on one instance; one more is RATE_LIMITED. */
  maxExtracts: number;
  /** Unexpected errors carry their message and stack to clients (for debugging only). */
  debugErrors: boolean;
  /** On SIGTERM/SIGINT: how long requests in flight may take before their connections are closed, in ms. */
  shutdownTimeoutMs: number;
  /** How long the database may take to answer /readyz and /health, in ms. */
  readinessTimeoutMs: number;
}

export interface Config {
  env: Environment;
  role: Role;
  logLevel: string;
  http: HttpConfig;
  database: DatabaseConfig;
  mode: DeploymentMode;
  keys: {
    /** Pseudonyms, hmac masks, cursors and consent-center links (current key first, older ones for rotation). */
    hmac: HmacKeyring;
    /** Hashes IP addresses in proofs of consent. */
    proof: string;
  };
  limits: {
    /** The most rows one request may be able to produce (estimated from its page sizes); more is QUERY_TOO_COSTLY. */
    maxRows: number;
    /** Token bucket per client: sustained requests per second and burst; null: no rate limit. */
    rateLimit: { perSecond: number; burst: number } | null;
  };
  propagation: PropagationOptions;
  /** Delivery workers (npm run worker): the port of their health and metrics endpoints. */
  worker: { port: number };
  /** The NATS JetStream sink; null (CONSENTQL_NATS_URL unset): off. */
  nats: NatsSinkOptions | null;
  /** Access records, written in batches off the request path. */
  audit: { flushIntervalMs: number; batchSize: number; maxQueue: number; retentionDays: number };
  /** Prometheus metrics: on the API port behind `token`, and/or on a port of their own. */
  metrics: { token: string | undefined; port: number | undefined; host: string };
  /** What an operator should hear about at start (development keys in use…), logged by the process. */
  warnings: string[];
}

/** Thrown with every problem found, each naming its variable; the message says what to do. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}. Fix these environment variables and start again.`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** An exported-but-empty variable means "not set", as in most shells' eyes. */
function presentOf(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

function issuesOf(error: z.ZodError): string[] {
  // The variable's name, not where in its parsed value (CONSENTQL_NATS_URL, not CONSENTQL_NATS_URL.0).
  return error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = presentOf(env);
  const parsed = schema.safeParse(present);
  const problems = parsed.success ? [] : issuesOf(parsed.error);
  problems.push(...crossProblems(present));
  const production = present.NODE_ENV === 'production';
  const warnings: string[] = [];
  let hmac: HmacKeyring | undefined;
  try {
    hmac = parseHmacKeys(present.CONSENTQL_HMAC_KEYS, { production, log: (message) => warnings.push(message) });
  } catch (error) {
    problems.push(`CONSENTQL_HMAC_KEYS: ${(error as Error).message}`);
  }
  if (parsed.success && parsed.data.CONSENTQL_NATS_URL) {
    const lease = sinkLeaseMs(parsed.data.CONSENTQL_NATS_PUBLISH_TIMEOUT);
    if (parsed.data.CONSENTQL_NATS_DUPLICATE_WINDOW < lease) {
      problems.push(
        `CONSENTQL_NATS_DUPLICATE_WINDOW: must be at least ${lease} ms (twice CONSENTQL_NATS_PUBLISH_TIMEOUT plus 5 s, the lease after which another worker ` +
          'publishes again what a dead one may have published; JetStream drops a repeated message id only within the window)',
      );
    }
  }
  if (!parsed.success || !hmac || problems.length > 0) throw new ConfigError(problems);
  return configOf(parsed.data, hmac, warnings);
}

function configOf(e: Env, hmac: HmacKeyring, warnings: string[]): Config {
  return {
    env: e.NODE_ENV,
    role: e.CONSENTQL_ROLE,
    logLevel: e.LOG_LEVEL,
    http: {
      port: e.PORT,
      host: e.HOST,
      trustedProxies: e.CONSENTQL_TRUSTED_PROXIES,
      maxBodyBytes: e.CONSENTQL_MAX_BODY_BYTES,
      maxImportBytes: e.CONSENTQL_MAX_IMPORT_BYTES,
      importBatchSize: e.CONSENTQL_IMPORT_BATCH_SIZE,
      corsOrigins: e.CONSENTQL_CORS_ORIGINS.map((origin) => new URL(origin).origin),
      maxSubscriptionsPerClient: e.CONSENTQL_MAX_SUBSCRIPTIONS_PER_CLIENT,
      maxExtracts: e.CONSENTQL_MAX_EXTRACTS,
      debugErrors: e.CONSENTQL_DEBUG_ERRORS === '1',
      shutdownTimeoutMs: e.CONSENTQL_SHUTDOWN_TIMEOUT,
      readinessTimeoutMs: e.CONSENTQL_READINESS_TIMEOUT,
    },
    database: databaseOf(e),
    mode: e.CONSENTQL_MODE,
    keys: { hmac, proof: e.CONSENTQL_PROOF_KEY ?? DEV_PROOF_KEY },
    limits: {
      maxRows: e.CONSENTQL_MAX_ROWS,
      rateLimit: rateLimitOf(e.NODE_ENV, e.CONSENTQL_RATE_LIMIT, e.CONSENTQL_RATE_LIMIT_BURST),
    },
    propagation: {
      retrySchedule: e.CONSENTQL_WEBHOOK_RETRY_SCHEDULE,
      timeoutMs: e.CONSENTQL_WEBHOOK_TIMEOUT,
      pollIntervalMs: e.CONSENTQL_PROPAGATION_POLL,
      concurrency: e.CONSENTQL_WEBHOOK_CONCURRENCY,
      ...(e.CONSENTQL_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION
        ? { concurrencyPerSubscription: e.CONSENTQL_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION }
        : {}),
      allowHosts: e.CONSENTQL_WEBHOOK_ALLOW_HOSTS,
      // A process in the API role leaves delivery to the workers.
      dispatch: e.CONSENTQL_WEBHOOK_DISPATCH === 'on' && e.CONSENTQL_ROLE !== 'api',
    },
    worker: { port: e.CONSENTQL_WORKER_PORT },
    nats: e.CONSENTQL_NATS_URL
      ? {
          servers: e.CONSENTQL_NATS_URL,
          stream: e.CONSENTQL_NATS_STREAM,
          subjectPrefix: e.CONSENTQL_NATS_SUBJECT_PREFIX,
          duplicateWindowMs: e.CONSENTQL_NATS_DUPLICATE_WINDOW,
          publishTimeoutMs: e.CONSENTQL_NATS_PUBLISH_TIMEOUT,
        }
      : null,
    audit: {
      flushIntervalMs: e.CONSENTQL_AUDIT_FLUSH_INTERVAL,
      batchSize: e.CONSENTQL_AUDIT_BATCH_SIZE,
      maxQueue: e.CONSENTQL_AUDIT_MAX_QUEUE,
      retentionDays: e.CONSENTQL_ACCESS_RETENTION_DAYS,
    },
    metrics: { token: e.CONSENTQL_METRICS_TOKEN, port: e.CONSENTQL_METRICS_PORT, host: e.CONSENTQL_METRICS_HOST },
    warnings,
  };
}

function databaseOf(e: Pick<Env, keyof typeof database>): DatabaseConfig {
  return {
    url: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    poolSize: e.DATABASE_POOL_SIZE,
    statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT,
    idleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT,
    connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT,
  };
}

/**
 * Where the database is, for commands that only open it (migrations, seed,
 * client management, consent links): the same variables and checks as the
 * server's, without the server's other requirements.
 */
export function loadDatabaseConfig(env: NodeJS.ProcessEnv = process.env): DatabaseConfig {
  const parsed = z.object(database).safeParse(presentOf(env));
  if (!parsed.success) throw new ConfigError(issuesOf(parsed.error));
  return databaseOf(parsed.data);
}

/**
 * DATABASE_URL for a command that works on PostgreSQL only (`npm run <command>`):
 * the URL, or an error that says what to set.
 */
export function requirePostgresUrl(command: string, env: NodeJS.ProcessEnv = process.env): string {
  const { url } = loadDatabaseConfig(env);
  if (!url) {
    throw new Error(
      'DATABASE_URL is not set. Expected a PostgreSQL URL such as postgresql://postgres@127.0.0.1:5432/consentql; ' +
        `set it (DATABASE_URL=... npm run ${command}) and run again.`,
    );
  }
  return url;
}

/** 50 requests per second per client (burst 100) unless set; off by default under NODE_ENV=test, whose suites send bursts. */
function rateLimitOf(env: Environment, rate: string | undefined, burst: number | undefined): Config['limits']['rateLimit'] {
  const setting = rate ?? (env === 'test' ? 'off' : '50');
  if (setting === 'off' || Number(setting) === 0) return null;
  const perSecond = Number(setting);
  return { perSecond, burst: burst ?? Math.max(1, Math.ceil(2 * perSecond)) };
}
