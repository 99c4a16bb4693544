// One HTTP load run (autocannon) against a server, with the server's CPU time per request.
import autocannon from 'autocannon';
import { cpuMs } from './children.ts';
import { percentile } from './lib.ts';

export interface LoadResult {
  rps: number;
  /** Server CPU time per request (ms), when the server's pid was given. */
  cpuPerRequest: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/**
 * One autocannon run. Latencies are taken from its per-response event (float
 * ms): autocannon's own histogram rounds them to whole milliseconds.
 */
export async function load(opts: {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  seconds: number;
  pid?: number;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  const cpu0 = opts.pid ? cpuMs(opts.pid) : NaN;
  const instance = autocannon({
    url: opts.url,
    method: 'POST',
    headers: { ...opts.headers },
    body: opts.body,
    connections: opts.connections,
    duration: opts.seconds,
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const cpu = opts.pid ? cpuMs(opts.pid) - cpu0 : NaN;
  return {
    rps: latencies.length / opts.seconds,
    cpuPerRequest: cpu / (latencies.length + result.non2xx),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: latencies.length,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
