import type http from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';

// How a server process stops. On SIGTERM or SIGINT (npm start forwards them):
// readiness turns 503, the listening socket closes (new connections are
// refused), subscription streams end (their clients get `complete`),
// requests in flight finish within the shutdown timeout (then the remaining
// connections are closed), the access records still queued are written,
// propagation stops and the pool closes; the process exits 0. A second
// signal exits at once (1). An uncaught exception or unhandled rejection is
// logged and the process exits 1 after a short best-effort flush of the
// access records.

export const SHUTDOWN_TIMEOUT_DEFAULT_MS = 10_000;

/** The instance-wide "we are stopping" state: readiness reads it, subscription streams end on it. */
export class Shutdown {
  private readonly controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get shuttingDown(): boolean {
    return this.controller.signal.aborted;
  }

  begin(): void {
    if (!this.controller.signal.aborted) this.controller.abort();
  }
}

/** Ends every subscription stream (server-sent events) when the shutdown begins, as if it had finished. */
export function useShutdown(shutdown: Shutdown): Plugin {
  return {
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (typeof result === 'object' && result !== null && Symbol.asyncIterator in result) {
            setResult(endOnAbort(result as AsyncIterableIterator<never>, shutdown.signal));
          }
        },
      };
    },
  };
}

function endOnAbort<T>(source: AsyncIterableIterator<T>, signal: AbortSignal): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let ended = false;
  const aborted = new Promise<IteratorResult<T>>((resolve) => {
    const onAbort = () => resolve({ done: true, value: undefined as T });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const end = async (): Promise<IteratorResult<T>> => {
    if (!ended) {
      ended = true;
      await iterator.return?.();
    }
    return { done: true, value: undefined as T };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (ended) return { done: true, value: undefined as T };
      const step = await Promise.race([iterator.next(), aborted]);
      if (signal.aborted && step.done) return end();
      if (step.done) ended = true;
      return step;
    },
    return: () => end(),
    async throw(error?: unknown) {
      ended = true;
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
  };
}

/**
 * Stops `server` accepting connections and waits for its requests to end:
 * idle keep-alive connections are closed as they become idle; after
 * `timeoutMs` the remaining ones are closed. Resolves with how many had to be cut.
 */
export async function drainHttpServer(server: http.Server, timeoutMs: number, logger?: Logger): Promise<{ cut: number }> {
  if (!server.listening) return { cut: 0 };
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const idle = setInterval(() => server.closeIdleConnections(), 50);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    }),
  ]);
  clearInterval(idle);
  clearTimeout(timer);
  if (!timedOut) return { cut: 0 };
  const cut = await new Promise<number>((resolve) => server.getConnections((_, count) => resolve(count ?? 0)));
  logger?.warn({ connections: cut, timeoutMs }, 'requests still in flight at the shutdown deadline; closing their connections');
  server.closeAllConnections();
  await closed;
  return { cut };
}

export interface ProcessHandlers {
  logger: Logger;
  /** The orderly stop (SIGTERM, SIGINT); resolves when everything is closed. */
  shutdown(signal: NodeJS.Signals): Promise<void>;
  /** A quick best-effort flush before a fatal exit (bounded by the caller's timeout). */
  flush?(): Promise<void>;
  /** How long `flush` may take on a fatal error, in ms. */
  fatalFlushTimeoutMs?: number;
  exit?(code: number): void;
}

/**
 * Installs the signal and fatal-error handlers of a server process. Signals
 * received before the app is ready wait for it (the caller's `shutdown`
 * decides); a second signal exits at once.
 */
export function installProcessHandlers(handlers: ProcessHandlers): { stopping(): boolean } {
  const { logger } = handlers;
  const exit = handlers.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  let dying = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const started = performance.now();
    handlers.shutdown(signal).then(
      () => {
        logger.info({ ms: Math.round(performance.now() - started) }, 'stopped');
        exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  const onFatal = (kind: string) => (error: unknown) => {
    if (dying) return;
    dying = true;
    logger.fatal({ err: error }, kind);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, handlers.fatalFlushTimeoutMs ?? 2_000));
    Promise.race([(handlers.flush?.() ?? Promise.resolve()).catch(() => {}), timeout]).finally(() => exit(1));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onFatal('uncaught exception; exiting'));
  process.on('unhandledRejection', onFatal('unhandled promise rejection; exiting'));
  return { stopping: () => stopping };
}
