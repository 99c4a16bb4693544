import { createHash } from 'node:crypto';
import { GraphQLError, Kind, parse } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import type { Logger } from 'pino';

// What reaches the logs about a failed request: enough to find the fault,
// nothing of what the request carried. A GraphQL error printed as text quotes
// its source lines (the query, literals and all), and the messages of Prisma
// and PostgreSQL errors quote the values they failed on (a CRM id, an email),
// so neither is logged as such: the operation is named, the document is
// identified by a SHA-256 prefix, variables are never logged, and messages
// lose quoted values, numbers and addresses.

/** `sha256:` and the first 16 hex digits of the document's SHA-256: which query, not what it says. */
export function documentDigest(document: string): string {
  return `sha256:${createHash('sha256').update(document).digest('hex').slice(0, 16)}`;
}

/** The operation an error was raised in and its document's digest, from the source the error points into. */
export function operationOf(error: GraphQLError): { operation: string | null; document: string } | null {
  const body = error.source?.body;
  if (!body) return null;
  let operation: string | null = null;
  try {
    const position = error.positions?.[0] ?? 0;
    const operations = parse(body).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    const found =
      operations.find((d) => d.loc && d.loc.start <= position && position < d.loc.end) ??
      (operations.length === 1 ? operations[0] : undefined);
    operation = found ? (found.name?.value ?? '(anonymous)') : null;
  } catch {
    // An unparsable document raised no execution error; nothing to name.
  }
  return { operation, document: documentDigest(body) };
}

/** Removes what a message may quote from a request: quoted text, anything with a digit or an @ (ids, numbers, addresses). */
export function redactMessage(message: string): string {
  return message
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '"…"')
    .replace(/[^\s"'`(),;:[\]{}]*[\d@][^\s"'`(),;:[\]{}]*/g, '…')
    .slice(0, 300);
}

/**
 * A description of an error that is safe to log: type, code, a redacted
 * message, stack frames (without the message the stack starts with), and
 * for a GraphQL error its path and the same for the error it wraps.
 */
export function describeError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const described: Record<string, unknown> = { type: error.name || error.constructor?.name || 'Error' };
  if (error instanceof GraphQLError) {
    if (error.path) described.path = error.path.join('.');
    const code = error.extensions?.code;
    if (typeof code === 'string') described.code = code;
    if (error.originalError && depth < 3) described.cause = describeError(error.originalError, depth + 1);
    else described.message = redactMessage(error.message);
    return described;
  }
  const { code, meta } = error as {
    code?: unknown;
    meta?: { modelName?: unknown; driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } };
  };
  if (typeof code === 'string' || typeof code === 'number') described.code = code;
  const cause = meta?.driverAdapterError?.cause;
  if (typeof meta?.modelName === 'string') described.model = meta.modelName;
  if (typeof cause?.kind === 'string') described.kind = cause.kind;
  if (typeof cause?.originalCode === 'string') described.sqlState = cause.originalCode;
  // Prisma's messages start with the call site and the call's arguments; the reason is the last line.
  const lines = error.message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const reason = error.name.startsWith('PrismaClient') ? lines[lines.length - 1] : lines[0];
  described.message = redactMessage(reason ?? '');
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .slice(0, 12)
    .map((l) => l.trim());
  if (frames.length > 0) described.stack = frames;
  if (error.cause !== undefined && depth < 3) described.cause = describeError(error.cause, depth + 1);
  return described;
}

/**
 * Yoga's logger (the `logging` option), onto pino. Yoga logs each error it
 * masks, sometimes twice; it is logged once, described as above. Given the
 * server's request-aware logger (src/http/request-log.ts), each line carries
 * the id of the request it was logged for.
 */
export function yogaLogging(logger: Logger): YogaLogger {
  const logged = new WeakSet<object>();
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const text: string[] = [];
      for (const arg of args) {
        if (!(arg instanceof Error)) {
          text.push(String(arg));
          continue;
        }
        if (logged.has(arg)) continue;
        logged.add(arg);
        const where = arg instanceof GraphQLError ? operationOf(arg) : null;
        // Under `err`, pino's key for errors: described (type, code, redacted message, stack frames), never the error as thrown.
        logger[level]({ ...where, err: describeError(arg) }, level === 'error' ? 'unexpected error' : arg.name);
      }
      if (text.length > 0) logger[level](text.join(' '));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
