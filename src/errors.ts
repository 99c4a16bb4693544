import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PURPOSE_REQUIRED'
  | 'UNKNOWN_PURPOSE'
  | 'PURPOSE_NOT_ALLOWED'
  | 'EXPLAIN_NOT_ALLOWED'
  | 'FILTER_NOT_ALLOWED'
  | 'BAD_USER_INPUT'
  | 'QUERY_TOO_LARGE'
  | 'QUERY_TOO_COSTLY'
  | 'RATE_LIMITED'
  | 'NOT_FOUND'
  | 'CONSENT_UNAVAILABLE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'INVALID_CURSOR'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_SUBSCRIPTIONS';

const httpStatus: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  PURPOSE_REQUIRED: 400,
  UNKNOWN_PURPOSE: 400,
  PURPOSE_NOT_ALLOWED: 403,
  EXPLAIN_NOT_ALLOWED: 403,
  FILTER_NOT_ALLOWED: 400,
  BAD_USER_INPUT: 400,
  QUERY_TOO_LARGE: 400,
  QUERY_TOO_COSTLY: 400,
  RATE_LIMITED: 429,
  NOT_FOUND: 404,
  CONSENT_UNAVAILABLE: 503,
  IDEMPOTENCY_KEY_REUSED: 409,
  INVALID_CURSOR: 400,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_SUBSCRIPTIONS: 429,
};

/**
 * Every error the API raises on purpose: a machine-readable code, and a
 * message that says what was expected, what was received and what to do.
 * Being a GraphQLError, Yoga passes it through instead of masking it.
 */
export class ConsentQLError extends GraphQLError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, headers?: Record<string, string>) {
    // Yoga sets the response's status, and any headers (e.g. Retry-After), from extensions.http.
    super(message, { extensions: { code, ...details, http: { status: httpStatus[code], ...(headers ? { headers } : {}) } } });
  }
}

/**
 * The SQLSTATE of a database error, however it arrived: from the pg driver
 * (`code`) or through Prisma's driver adapter (`meta.driverAdapterError`).
 */
export function sqlStateOf(error: unknown): string | undefined {
  const { code, meta } = (error ?? {}) as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } };
  const original = meta?.driverAdapterError?.cause?.originalCode;
  if (typeof original === 'string') return original;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
