import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { checkTarget, NO_EXCEPTIONS, systemResolve, type Resolve, type ResolvedAddress, type TargetPolicy } from './targets.ts';

// Deliveries follow the Standard Webhooks specification
// (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
// `webhook-signature` headers, HMAC-SHA256 over "id.timestamp.body" with a
// per-subscriber `whsec_` secret, so a receiver verifies with any
// off-the-shelf library.

export const USER_AGENT = 'ConsentQL-Webhooks/1';

/** A new subscriber secret: `whsec_` and 32 random bytes in base64, as the spec suggests. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The same id for every attempt of one message (receivers deduplicate on it):
 * the outbox id, which is also the change feed cursor.
 */
export function messageId(outboxId: string): string {
  return `msg_${outboxId}`;
}

export interface WebhookMessage {
  id: string;
  type: string;
  /** When the change happened (not when this attempt was made). */
  occurredAt: Date;
  data: unknown;
}

/** The JSON a subscriber receives: the same for a webhook's body and a message on the NATS stream. */
export function messageBody(message: WebhookMessage): string {
  return JSON.stringify({ type: message.type, timestamp: message.occurredAt.toISOString(), data: message.data });
}

export interface Attempt {
  ok: boolean;
  status: number | null;
  /** A fixed description: never the URL, its credentials or the address connected to. */
  error: string | null;
  /** The target may not be sent to at all: retrying cannot help, so the delivery is dead at once. */
  refused?: boolean;
}

/**
 * The error of a target that is not sent to: the same text whichever the
 * reason and whether or not something listens there, so that deliveries
 * cannot map the internal network (which ports answer on 127.0.0.1).
 */
export const TARGET_NOT_ALLOWED = 'target address not allowed';
export const TARGET_URL_NOT_ALLOWED = 'target URL not allowed';

export interface SendOptions {
  /** An attempt that has not answered by then (name resolution included) counts as failed. */
  timeoutMs: number;
  /** Non-public hosts that may be sent to anyway (CONSENTQL_WEBHOOK_ALLOW_HOSTS). */
  policy?: TargetPolicy;
  /** Name resolution; the system resolver unless a test replaces it. */
  resolve?: Resolve;
}

const refused = (error: string): Attempt => ({ ok: false, status: null, error, refused: true });

// Connections are kept for the next delivery to the same host, but closed
// after 4 s idle: before the 5 s after which common servers (Node's own)
// close theirs, which would reset a POST sent on a socket closing under it.
// A kept socket was connected to a checked address.
const agents = {
  'http:': new http.Agent({ keepAlive: true, timeout: 4000 }),
  'https:': new https.Agent({ keepAlive: true, timeout: 4000 }),
};

/**
 * One signed POST. Never throws: a network error or timeout is a failed attempt.
 *
 * The host is resolved here, every address it resolves to is checked, and
 * the connection goes to those addresses only (a `lookup` that answers with
 * them), so what was checked is what is connected to. A refused target is
 * never connected to.
 */
export async function sendWebhook(url: string, secret: string, message: WebhookMessage, options: SendOptions): Promise<Attempt> {
  const { timeoutMs, policy = NO_EXCEPTIONS, resolve = systemResolve } = options;
  const deadline = Date.now() + timeoutMs;
  const timedOut: Attempt = { ok: false, status: null, error: `no answer within ${timeoutMs} ms` };
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return refused(TARGET_URL_NOT_ALLOWED);
  }
  // Only http(s), and never a URL with credentials (they would end up in errors and logs).
  if ((target.protocol !== 'http:' && target.protocol !== 'https:') || target.username !== '' || target.password !== '') {
    return refused(TARGET_URL_NOT_ALLOWED);
  }

  let timer: NodeJS.Timeout | undefined;
  const checked = await Promise.race([
    checkTarget(target, policy, resolve),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]).finally(() => clearTimeout(timer));
  if (checked === 'timeout') return timedOut;
  if (!checked.ok)
    return checked.problem === 'refused' ? refused(TARGET_NOT_ALLOWED) : { ok: false, status: null, error: 'could not resolve the host' };

  const body = messageBody(message);
  const sentAt = new Date();
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'user-agent': USER_AGENT,
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(message.id, sentAt, body),
  };
  const remaining = Math.max(1, deadline - Date.now());
  return post(target, checked.host, checked.addresses, headers, body, remaining, timedOut);
}

/** Answers every lookup with the checked addresses (an IP host is connected to as is, without a lookup). */
function pinned(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = typeof options.family === 'number' && options.family !== 0 ? options.family : undefined;
    const usable = family ? addresses.filter((a) => a.family === family) : addresses;
    if (usable.length === 0) {
      const error: NodeJS.ErrnoException = new Error('no checked address of the requested family');
      error.code = 'ENOTFOUND';
      callback(error, '', 4);
      return;
    }
    if (options.all)
      (callback as unknown as (e: null, all: ResolvedAddress[]) => void)(
        null,
        usable.map((a) => ({ ...a })),
      );
    else callback(null, usable[0].address, usable[0].family);
  };
}

function post(
  target: URL,
  host: string,
  addresses: readonly ResolvedAddress[],
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  timedOut: Attempt,
): Promise<Attempt> {
  return new Promise<Attempt>((settle) => {
    let settled = false;
    const finish = (attempt: Attempt) => {
      if (settled) return;
      settled = true;
      settle(attempt);
    };
    // A redirect is not followed (node:http never does): the subscriber
    // registered this URL, and following one would send signed consent data
    // somewhere else, possibly inside the network.
    const request = (target.protocol === 'https:' ? https : http).request({
      agent: agents[target.protocol as 'http:' | 'https:'],
      method: 'POST',
      protocol: target.protocol,
      hostname: host,
      port: target.port === '' ? undefined : Number(target.port),
      path: `${target.pathname}${target.search}`,
      headers,
      ...(addresses.length > 0 ? { lookup: pinned(addresses) } : {}),
    });
    // One deadline for the whole attempt; a body still streaming after it is cut off.
    const timer = setTimeout(() => {
      finish(timedOut);
      request.destroy();
    }, timeoutMs);
    request.on('response', (response) => {
      response.on('error', () => {});
      response.on('end', () => clearTimeout(timer));
      response.on('close', () => clearTimeout(timer));
      response.resume();
      const status = response.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      finish({ ok, status, error: ok ? null : `HTTP ${status}` });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      finish({ ok: false, status: null, error: describeFailure(error) });
    });
    request.end(body);
  });
}

const FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'could not resolve the host',
  EAI_AGAIN: 'could not resolve the host',
  HPE_INVALID_CONSTANT: 'invalid HTTP response',
};

/** A fixed text for a network error: Node's own messages name the address and port. */
export function describeFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code && FAILURES[code]) return FAILURES[code];
  if (code && /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|HOSTNAME_MISMATCH|ERR_OSSL)/.test(code))
    return `TLS error (${code})`;
  if (code && /^HPE_/.test(code)) return 'invalid HTTP response';
  if (error instanceof Error && error.message === 'socket hang up') return 'connection closed without an answer';
  return code && /^[A-Z0-9_]{2,40}$/.test(code) ? `request failed (${code})` : 'request failed';
}
