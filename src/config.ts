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
}).refine((e) => e.NODE_ENV !== 'production' || e.CONSENTQL_PROOF_KEY, {
  path: ['CONSENTQL_PROOF_KEY'],
  message: 'is required in production (the key that hashes IP addresses in proofs of consent; e.g. $(openssl rand -base64 32))',
});

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
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An exported-but-empty variable means "not set", as in most shells' eyes.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ');
    throw new Error(`Invalid configuration: ${problems}. Fix these environment variables and start again.`);
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
  };
}

/** 50 requests per second per client (burst 100) unless set; off by default under NODE_ENV=test, whose suites send bursts. */
function rateLimitOf(env: Config['env'], rate: string | undefined, burst: number | undefined): Config['rateLimit'] {
  const setting = rate ?? (env === 'test' ? 'off' : '50');
  if (setting === 'off' || Number(setting) === 0) return null;
  const perSecond = Number(setting);
  return { perSecond, burst: burst ?? Math.max(1, Math.ceil(2 * perSecond)) };
}
