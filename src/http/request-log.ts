import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { PURPOSE_KEYS } from '../policy/taxonomy.ts';
import type { Context } from '../schema/context.ts';
import type { Metrics } from './metrics.ts';

// One request id per request, on every log line written while it is handled
// and in the X-Request-Id response header; one log line per request when it
// is answered; the request metrics. The line says who asked (client name),
// for what (purpose, operation name and type), how it ended (HTTP status,
// error codes), how long it took and what consent did (masked values,
// subjects returned, rows excluded): never the query's text, its variables,
// a query string, an address or anything a subject is identified by.

export const REQUEST_ID_HEADER = 'x-request-id';

/** An incoming X-Request-Id is kept only if it is a short token of safe characters (it goes into logs and a header). */
const SAFE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export function requestIdOf(incoming: string | null | undefined): string {
  return incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export interface RequestState {
  id: string;
  /** This request's logger: a pino child bound to its id. */
  log: Logger;
  started: number;
  ctx?: Context;
  operation?: string | null;
  operationType?: string;
  errorCodes: string[];
}

const storage = new AsyncLocalStorage<RequestState>();

/** The request being handled in this async context, if any. */
export function currentRequest(): RequestState | undefined {
  return storage.getStore();
}

/**
 * A logger that adds the current request's id to each line logged while a
 * request is handled (by code that was given the server's logger once, not
 * per request): hand it to components that log on a request's behalf.
 */
export function requestAwareLogger(logger: Logger): Logger {
  return logger.child(
    {},
    {
      formatters: {
        log(object: object) {
          const state = storage.getStore();
          return state && !('reqId' in object) ? { reqId: state.id, ...object } : object;
        },
      },
    },
  );
}

/** Error codes a metric label may carry; any other becomes "error". */
const KNOWN_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'PURPOSE_REQUIRED',
  'UNKNOWN_PURPOSE',
  'PURPOSE_NOT_ALLOWED',
  'EXPLAIN_NOT_ALLOWED',
  'FILTER_NOT_ALLOWED',
  'BAD_USER_INPUT',
  'QUERY_TOO_LARGE',
  'QUERY_TOO_COSTLY',
  'RATE_LIMITED',
  'NOT_FOUND',
  'CONSENT_UNAVAILABLE',
  'IDEMPOTENCY_KEY_REUSED',
  'INVALID_CURSOR',
  'PAYLOAD_TOO_LARGE',
  'TOO_MANY_SUBSCRIPTIONS',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'INTERNAL_SERVER_ERROR',
]);
const PURPOSES = new Set<string>(PURPOSE_KEYS);

export interface RequestLogOptions {
  logger: Logger;
  metrics?: Metrics;
  /** The GraphQL endpoint: its requests are counted in the request metrics. */
  graphqlPath: string;
  /** Paths logged at debug level (probes and scrapes, which would drown the rest). */
  quietPaths?: readonly string[];
}

export function useRequestLog(options: RequestLogOptions): Plugin<Context> {
  const { logger, metrics, graphqlPath } = options;
  const quiet = new Set(options.quietPaths ?? []);
  const noteOperation = (args: { contextValue: unknown; document: DocumentNode; operationName?: string | null }) => {
    const state = storage.getStore();
    if (!state) return;
    state.ctx = args.contextValue as Context;
    const operation = getOperationAST(args.document, args.operationName);
    state.operation = operation ? (operation.name?.value ?? '(anonymous)') : null;
    state.operationType = operation?.operation;
  };
  return {
    instrumentation: {
      request({ request }, wrapped) {
        const id = requestIdOf(request.headers.get(REQUEST_ID_HEADER));
        const state: RequestState = { id, log: logger.child({ reqId: id }), started: performance.now(), errorCodes: [] };
        return storage.run(state, wrapped);
      },
    },
    onExecute({ args }) {
      noteOperation(args);
    },
    onSubscribe({ args }) {
      noteOperation(args);
    },
    onResultProcess({ result }) {
      const state = storage.getStore();
      if (!state || !result || Symbol.asyncIterator in result) return;
      for (const one of Array.isArray(result) ? result : [result]) {
        for (const error of one.errors ?? []) {
          const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
          state.errorCodes.push(typeof code === 'string' && KNOWN_CODES.has(code) ? code : 'error');
        }
      }
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      const state = storage.getStore();
      if (!state) return;
      try {
        response.headers.set(REQUEST_ID_HEADER, state.id);
      } catch {
        // Immutable headers (a Response built elsewhere): the same response with the header.
        const headers = new fetchAPI.Headers(response.headers);
        headers.set(REQUEST_ID_HEADER, state.id);
        setResponse(new fetchAPI.Response(response.body, { status: response.status, statusText: response.statusText, headers }));
      }
      const ms = performance.now() - state.started;
      const path = new URL(request.url).pathname;
      const ctx = state.ctx;
      const consent = ctx?.consent ?? null;
      const client = ctx?.client?.name ?? null;
      const declared = request.headers.get('x-purpose')?.trim();
      const purpose = consent?.purpose.key ?? (declared ? (PURPOSES.has(declared) ? declared : 'invalid') : null);
      const codes = [...new Set(state.errorCodes)];
      const line = {
        method: request.method,
        // The path only: a GET request's query string carries the document and the variables.
        path: path.length <= 64 ? path : `${path.slice(0, 64)}…`,
        status: response.status,
        ms: Math.round(ms * 10) / 10,
        client,
        purpose,
        operation: state.operation ?? null,
        operationType: state.operationType ?? null,
        ...(codes.length > 0 ? { errors: codes } : {}),
        ...(consent ? { subjects: consent.subjectCount(), maskedFields: consent.maskedFields, excludedRows: consent.excludedRows } : {}),
      };
      state.log[quiet.has(path) ? 'debug' : 'info'](line, 'request');
      if (metrics && path === graphqlPath) {
        const labels = { client: client ?? 'anonymous', purpose: consent?.purpose.key ?? (purpose === null ? 'none' : purpose) };
        const outcome = codes[0] ?? (response.status >= 500 ? 'server_error' : response.status >= 400 ? 'client_error' : 'ok');
        metrics.requests.inc({ ...labels, outcome });
        metrics.duration.observe({ ...labels, operation_type: state.operationType ?? 'none' }, ms / 1000);
        if (consent && consent.maskedFields > 0) metrics.maskedValues.inc(labels, consent.maskedFields);
        if (consent?.excludedRows) metrics.excludedRows.inc(labels, consent.excludedRows);
      }
    },
  };
}
