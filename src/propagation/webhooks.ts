import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

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

export interface Attempt {
  ok: boolean;
  status: number | null;
  error: string | null;
}

/** One signed POST. Never throws: a network error or timeout is a failed attempt. */
export async function sendWebhook(url: string, secret: string, message: WebhookMessage, timeoutMs: number): Promise<Attempt> {
  const body = JSON.stringify({ type: message.type, timestamp: message.occurredAt.toISOString(), data: message.data });
  const sentAt = new Date();
  const headers = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(message.id, sentAt, body),
  };
  try {
    // A redirect is not followed: the subscriber registered this URL, and
    // following one would send signed consent data somewhere else.
    const response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel().catch(() => {});
    const ok = response.status >= 200 && response.status < 300;
    return { ok, status: response.status, error: ok ? null : `HTTP ${response.status}` };
  } catch (error) {
    const reason = error instanceof Error ? (error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : error.message) : String(error);
    return { ok: false, status: null, error: reason.slice(0, 500) };
  }
}
