// The two ends a consent change reaches in section 3: a webhook receiver and a
// GraphQL-over-SSE subscriber, both answering as soon as a change arrives.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** A webhook receiver: records the first arrival per customer id in the body, answers 204. */
export async function startReceiver() {
  const received = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const at = performance.now();
      for (const id of body.match(UUID) ?? []) if (!received.has(id)) received.set(id, at);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

/** Opens a GraphQL-over-SSE stream; resolves null once it is open, or what went wrong. */
export async function openSse(url: string, headers: Record<string, string>, query: string, signal: AbortSignal, onEvent: (data: string) => void): Promise<string | null> {
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
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('\n');
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
