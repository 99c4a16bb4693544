import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from '../../src/db/database.ts';

// A real webhook receiver on 127.0.0.1, and a server-sent-events reader.

export interface ReceivedHook {
  headers: Record<string, string>;
  body: string;
  json: any;
  at: number;
}

export interface Receiver {
  url: string;
  received: ReceivedHook[];
  /** Decides the answer to each request; default 200. Return 'hang' to never answer. */
  respond: (hook: ReceivedHook) => number | 'hang';
  /** Resolves with the first received hook (from now or before) that matches. */
  waitFor(match: (hook: ReceivedHook) => boolean, timeoutMs?: number): Promise<ReceivedHook>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const waiters = new Set<() => void>();
  const hanging = new Set<http.ServerResponse>();
  const receiver: Receiver = {
    url: '',
    received: [],
    respond: () => 200,
    async waitFor(match, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = receiver.received.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching webhook within ${timeoutMs} ms; got ${receiver.received.length}`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 100);
        });
      }
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const hook: ReceivedHook = { headers: req.headers as Record<string, string>, body, json: JSON.parse(body), at: Date.now() };
      receiver.received.push(hook);
      for (const wake of [...waiters]) wake();
      const answer = receiver.respond(hook);
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/consent`;
  return receiver;
}

export interface EventStream {
  /** The next `next` event's data (a GraphQL result), in order. */
  next(timeoutMs?: number): Promise<any>;
  close(): void;
}

/** Reads a GraphQL-over-SSE response (Yoga's "distinct connections" mode). */
export function readEvents(response: Response, abort: AbortController): EventStream {
  const queue: any[] = [];
  const waiters: ((value: any) => void)[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  (async () => {
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== 'next' || data === undefined) continue;
        const parsed = JSON.parse(data);
        const waiter = waiters.shift();
        if (waiter) waiter(parsed);
        else queue.push(parsed);
      }
    }
  })();
  return {
    next(timeoutMs = 10_000) {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((value) => {
          clearTimeout(timer);
          resolve(value);
        });
      });
    },
    close: () => abort.abort(),
  };
}

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** Reads until `ok` holds or the time is up, and returns the last value read (the assertion that follows says what was wrong). */
export async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many reads under `purpose` the access log has recorded of the subject (per-subject rows). */
export async function readsRecorded(db: Database, purpose: string, customerId: string): Promise<number> {
  const { rows } = await db.pool.query(
    `SELECT 1 FROM access_record a JOIN access_subject s ON s.record_id = a.id WHERE a.purpose_key = $1 AND s.customer_id = $2`,
    [purpose, customerId],
  );
  return rows.length;
}
