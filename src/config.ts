import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import type { DeploymentMode } from './policy/types.ts';

// All settings come from the environment, validated once at start so that a
// typo fails loudly instead of running with a default nobody chose.
const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('.data'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).optional(),
  DATABASE_STATEMENT_TIMEOUT: z.coerce.number().int().min(0).default(30_000),
  CONSENTQL_MODE: z.enum(['per-jurisdiction', 'strictest']).default('per-jurisdiction'),
  CONSENTQL_HMAC_KEYS: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Read where IPs are hashed (src/consent/proof.ts); checked here so that production cannot start on the development key.
  CONSENTQL_PROOF_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  // Cost and rate limits per request and per client (src/http/cost-limit.ts).
  CONSENTQL_MAX_ROWS: z.coerce.number().int().min(1).default(50_000),
  CONSENTQL_RATE_LIMIT: z.string().regex(/^(off|\d+(\.\d+)?)$/, 'must be requests per second per client (e.g. 50), or off').optional(),
  CONSENTQL_RATE_LIMIT_BURST: z.coerce.number().int().min(1).optional(),
  // Trust boundaries of the HTTP layer (src/server.ts, src/http/).
  CONSENTQL_TRUSTED_PROXIES: z.string().transform(list).pipe(z.array(z.string()).superRefine(addressesOrRanges)).default([]),
  CONSENTQL_MAX_BODY_BYTES: z.coerce.number().int().min(1_000).max(100_000_000).default(100_000),
  CONSENTQL_CORS_ORIGINS: z.string().transform(list).pipe(z.array(z.string()).superRefine(origins)).default([]),
  CONSENTQL_MAX_SUBSCRIPTIONS_PER_CLIENT: z.coerce.number().int().min(1).default(10),
  CONSENTQL_DEBUG_ERRORS: z.enum(['0', '1'], { message: 'must be 1 (unexpected errors carry their message and stack to clients) or 0' }).default('0'),
  CONSENTQL_EMBEDDED_IN_PRODUCTION: z.enum(['0', '1'], { message: 'must be 1 (run production on the embedded database) or 0' }).default('0'),
});

/** Rules across variables, checked on the raw values so that they are reported with every other problem. */
function productionProblems(env: Record<string, string | undefined>): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  if (!env.CONSENTQL_PROOF_KEY) {
    problems.push('CONSENTQL_PROOF_KEY: is required in production (the key that hashes IP addresses in proofs of consent; e.g. $(openssl rand -base64 32))');
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
  return value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
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

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  databasePoolSize: number | undefined;
  /** PostgreSQL only: the longest one statement may run, and one transaction stay idle, in ms (0: no limit). */
  databaseStatementTimeoutMs: number;
  mode: DeploymentMode;
  hmacKeys: string | undefined;
  logLevel: string;
  /** The most rows one request may be able to produce (estimated from its page sizes); more is QUERY_TOO_COSTLY. */
  maxRows: number;
  /** Token bucket per client: sustained requests per second and burst; null: no rate limit. */
  rateLimit: { perSecond: number; burst: number } | null;
  /** Addresses and CIDR ranges of the proxies whose X-Forwarded-For is believed; none by default. */
  trustedProxies: string[];
  /** The largest request body the GraphQL endpoint reads, in bytes; more is PAYLOAD_TOO_LARGE (413). */
  maxBodyBytes: number;
  /** Origins that browsers may call the API from (CORS); none by default: no CORS headers at all. */
  corsOrigins: string[];
  /** Open subscriptions one client may hold on one instance; one more is TOO_MANY_SUBSCRIPTIONS. */
  maxSubscriptionsPerClient: number;
  /** Unexpected errors carry their message and stack to clients (never in logs' place: for debugging only). */
  debugErrors: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An exported-but-empty variable means "not set", as in most shells' eyes.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(present);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)),
    ...productionProblems(present),
  ];
  if (!parsed.success || problems.length > 0) {
    throw new Error(`Invalid configuration: ${problems.join('; ')}. Fix these environment variables and start again.`);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseStatementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT,
    mode: e.CONSENTQL_MODE,
    hmacKeys: e.CONSENTQL_HMAC_KEYS,
    logLevel: e.LOG_LEVEL,
    maxRows: e.CONSENTQL_MAX_ROWS,
    rateLimit: rateLimitOf(e.NODE_ENV, e.CONSENTQL_RATE_LIMIT, e.CONSENTQL_RATE_LIMIT_BURST),
    trustedProxies: e.CONSENTQL_TRUSTED_PROXIES,
    maxBodyBytes: e.CONSENTQL_MAX_BODY_BYTES,
    corsOrigins: e.CONSENTQL_CORS_ORIGINS.map((origin) => new URL(origin).origin),
    maxSubscriptionsPerClient: e.CONSENTQL_MAX_SUBSCRIPTIONS_PER_CLIENT,
    debugErrors: e.CONSENTQL_DEBUG_ERRORS === '1',
  };
}

/** 50 requests per second per client (burst 100) unless set; off by default under NODE_ENV=test, whose suites send bursts. */
function rateLimitOf(env: Config['env'], rate: string | undefined, burst: number | undefined): Config['rateLimit'] {
  const setting = rate ?? (env === 'test' ? 'off' : '50');
  if (setting === 'off' || Number(setting) === 0) return null;
  const perSecond = Number(setting);
  return { perSecond, burst: burst ?? Math.max(1, Math.ceil(2 * perSecond)) };
}
