import { PayloadTooLargeError } from '../../http/body-limit.ts';

// Splits an NDJSON body into lines as it streams in. Nothing holds more than
// one line (at most `maxBytes` of it): a longer line is skipped to its end and
// reported by its length, never accumulated. The next chunk is read only when
// the consumer asks for the next line, so a consumer that awaits its database
// writes slows the reading down to its own pace (backpressure down to TCP).

export type RawLine =
  | { number: number; text: string }
  /** Longer than the bound: its bytes were dropped as they arrived. */
  | { number: number; tooLong: number }
  /** Not UTF-8. */
  | { number: number; undecodable: true };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The lines of `body`, numbered from 1 as an editor numbers them. Blank lines
 * are skipped (but counted in the numbering); a final line without a newline
 * is a line. A byte-order mark before the first line is dropped.
 */
export async function* ndjsonLines(chunks: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<RawLine> {
  // The first line's decoder drops a leading byte-order mark; no other line may carry one.
  const first = new TextDecoder('utf-8', { fatal: true });
  const rest = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let parts: Uint8Array[] = [];
  let size = 0;
  let number = 0;

  const complete = (): RawLine | null => {
    number++;
    const length = size;
    const kept = parts;
    parts = [];
    size = 0;
    if (length > maxBytes) return { number, tooLong: length };
    let bytes = kept.length === 1 ? kept[0] : Buffer.concat(kept, length);
    if (bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) bytes = bytes.subarray(0, bytes.length - 1);
    let text: string;
    try {
      text = (number === 1 ? first : rest).decode(bytes);
    } catch {
      return { number, undecodable: true };
    }
    return text.trim() === '' ? null : { number, text };
  };

  // Leaving this loop early (the consumer stopped) ends the source's iteration: the rest of the body is not read.
  for await (const value of chunks) {
    let start = 0;
    while (start <= value.length) {
      const newline = value.indexOf(NEWLINE, start);
      const end = newline === -1 ? value.length : newline;
      // A line over the bound keeps counting its length but no longer its bytes.
      if (size + (end - start) <= maxBytes) {
        if (end > start) parts.push(value.subarray(start, end));
      } else {
        parts = [];
      }
      size += end - start;
      if (newline === -1) break;
      const line = complete();
      if (line) yield line;
      start = newline + 1;
    }
  }
  if (size > 0) {
    const line = complete();
    if (line) yield line;
  }
}

/**
 * The chunks of a request body, at most `limit` bytes of them: past it, a
 * PayloadTooLargeError (src/http/body-limit.ts) and the rest is not read. Read
 * one chunk at a time, when asked for: a reader that waits holds the body back.
 */
export async function* bodyChunks(body: ReadableStream<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let read = 0;
  let finished = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        finished = true;
        return;
      }
      read += next.value.byteLength;
      if (read > limit) throw new PayloadTooLargeError(limit);
      yield next.value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
