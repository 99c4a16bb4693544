import { Writable } from 'node:stream';
import pino, { type LoggerOptions } from 'pino';

/** A pino logger (debug level) whose lines are kept: as text, or parsed. */
export function capturedLogger(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug', ...options }, sink), text: () => lines.join(''), lines: () => lines.map((l) => JSON.parse(l)) };
}
