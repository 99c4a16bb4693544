import { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { ConsentQLError } from '../errors.ts';

// A bound on every request body, enforced while it streams in: a declared
// Content-Length above the limit is refused before a byte is read, and a body
// without one (chunked) or longer than it said is cut off the moment it
// passes the limit; the rest is never read, let alone buffered. Whoever reads
// the body (Yoga's request parsers, the consent center's form) gets a
// PayloadTooLargeError instead of more bytes. A malformed Content-Length is
// refused with 400. A body that came through Node's HTTP parser with a
// Content-Length within the limit is not counted again: the parser delivers
// exactly the length it accepted (the bytes after it are the next request),
// and it refuses a malformed length, two lengths and a length beside
// Transfer-Encoding.

const format = (n: number) => n.toLocaleString('en-US');

/** A well-formed Content-Length: one non-negative integer. */
const CONTENT_LENGTH = /^\d+$/;

/** 413, with a code: the body is larger than this endpoint accepts. */
export class PayloadTooLargeError extends ConsentQLError {
  readonly limit: number;
  constructor(limit: number) {
    super(
      'PAYLOAD_TOO_LARGE',
      `The request body is larger than the ${format(limit)} bytes this endpoint accepts. Send a smaller request (split a large one).`,
      { limit },
      // The rest of the body is not read: the connection cannot carry another request after it.
      { connection: 'close' },
    );
    this.limit = limit;
  }
}

/** The refusal as a GraphQL-over-HTTP error response, for endpoints that answer before Yoga does. */
export function payloadTooLargeResponse(fetchAPI: { Response: typeof Response }, limit: number): Response {
  const error = new PayloadTooLargeError(limit);
  return new fetchAPI.Response(JSON.stringify({ errors: [{ message: error.message, extensions: { code: 'PAYLOAD_TOO_LARGE', limit } }] }), {
    status: 413,
    // The rest of the body is not read: the connection cannot carry another request after it.
    headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' },
  });
}

interface FetchAPI {
  Request: typeof Request;
  Response: typeof Response;
  TransformStream: typeof TransformStream;
}

/**
 * The request with its body limited to `limit` bytes; throws a
 * PayloadTooLargeError at once when its Content-Length says more.
 */
export function limitBody(request: Request, limit: number, fetchAPI: FetchAPI): Request {
  const declared = request.headers.get('content-length');
  if (declared !== null && CONTENT_LENGTH.test(declared.trim()) && Number(declared) > limit) throw new PayloadTooLargeError(limit);
  const body = request.body;
  if (!body) return request;
  // Node's own ReadableStream pipes only into Node's own TransformStream (graphql-yoga#4583).
  const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  let read = 0;
  const counted = body.pipeThrough(
    new Transform({
      transform(chunk: Uint8Array, controller) {
        read += chunk.byteLength;
        // Erroring the stream also cancels its source: nothing more is read from the client.
        if (read > limit) controller.error(new PayloadTooLargeError(limit));
        else controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body: counted,
    // @ts-expect-error Node's fetch needs this for a streamed body; missing from the DOM types.
    duplex: 'half',
  });
}

/** Whether an error (as a body reader rethrows it, possibly wrapped) is the body limit's refusal. */
export function isPayloadTooLarge(error: unknown): error is PayloadTooLargeError {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    if (e instanceof PayloadTooLargeError) return true;
    e = (e as { cause?: unknown; originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

/** 400 BAD_REQUEST (Yoga's code for a malformed request): the Content-Length header is not one non-negative integer. */
function badContentLengthResponse(fetchAPI: { Response: typeof Response }, declared: string): Response {
  const message = `Content-Length must be one non-negative integer (the body's length in bytes), but got: ${JSON.stringify(declared.slice(0, 40))}. Send the body's length, or no Content-Length and a chunked body.`;
  return new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }), {
    status: 400,
    headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' },
  });
}

/**
 * Limits the body of every request to `limitFor(path)` bytes, before any
 * other plugin reads it. Must come first among the plugins that read bodies.
 */
export function useBodyLimit(limitFor: (pathname: string) => number): Plugin {
  return {
    onRequest({ request, setRequest, endResponse, url, fetchAPI, serverContext }) {
      const declared = request.headers.get('content-length');
      if (request.body === null && declared === null) return;
      if (declared !== null && !CONTENT_LENGTH.test(declared)) {
        endResponse(badContentLengthResponse(fetchAPI, declared));
        return;
      }
      const limit = limitFor(url.pathname);
      // Node's parser stops the body at the length it accepted (see above): nothing to count.
      const parsedByNode = (serverContext as { req?: unknown }).req instanceof IncomingMessage;
      if (declared !== null && Number(declared) <= limit && parsedByNode) return;
      try {
        setRequest(limitBody(request, limit, fetchAPI));
      } catch (error) {
        if (!isPayloadTooLarge(error)) throw error;
        endResponse(payloadTooLargeResponse(fetchAPI, limit));
      }
    },
  };
}
