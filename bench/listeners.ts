// The two ends a consent change reaches in section 3: a webhook receiver and a
// GraphQL-over-SSE subscriber, both answering as soon as a change arrives.
// Consumers are told of a change by notice: the subject appears only as its
// pseudonym under the change's purpose (`hmac:<kid>:<22 chars>`), so arrivals
// are matched by pseudonym, never by customer id.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMasker, parseHmacKeys } from '../src/masking/index.ts';
import { HMAC_KEYS } from './settings.ts';

export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** The same, for a yes/no test (no /g state). */
export const ANY_UUID = new RegExp(UUID.source);
/** A subject's pseudonym as notices carry it: hmac:<kid>:<22 base64url characters>. */
export const PSEUDONYM = /hmac:[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{22}/g;

// The bench servers all mask with HMAC_KEYS (settings.ts), so this masker gives the pseudonyms they send.
const masker = createMasker(parseHmacKeys(HMAC_KEYS, { production: true }));
/** What a consumer of `purpose` is told a subject is: its pseudonym under that purpose. */
export const pseudonymOf = (customerId: string, purpose: string) => masker.pseudonym(customerId, purpose);

/**
 * A webhook receiver: records the first arrival per pseudonym in the body, answers 204.
 * `leaks` counts bodies that carried a customer id (UUID), which a notice must not.
 */
export async function startReceiver() {
  const received = new Map<string, number>();
  const state = { leaks: 0, bodies: 0, sample: '' };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const at = performance.now();
      for (const token of body.match(PSEUDONYM) ?? []) if (!received.has(token)) received.set(token, at);
      state.bodies++;
      state.sample ||= body;
      if (ANY_UUID.test(body)) state.leaks++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, received, state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

/** Opens a GraphQL-over-SSE stream; resolves null once it is open, or what went wrong. */
export async function openSse(
  url: string,
  headers: Record<string, string>,
  query: string,
  signal: AbortSignal,
  onEvent: (data: string) => void,
): Promise<string | null> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify({ query }),
      signal,
    });
    if (!res.ok || !res.headers.get('content-type')?.includes('text/event-stream') || !res.body) {
      const body = (await res.text().catch(() => '')).replace(/\s+/g, ' ').slice(0, 200);
      return `the consentChanged subscription answered HTTP ${res.status}: ${body}`;
    }
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = event
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5))
              .join('\n');
            if (data) onEvent(data);
          }
        }
      } catch {}
    })();
    return null;
  } catch (error) {
    return `the consentChanged subscription failed: ${(error as Error).message}`;
  }
}
