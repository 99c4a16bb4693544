// Helpers of `npm run bench`: child servers, RSS sampling, load runs, statistics.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Child {
  proc: ChildProcess;
  port: number;
  /** The process that serves (for RSS): the spawned one, or tsx's node child. */
  serverPid(): number;
  stop(): Promise<void>;
  output(): string;
}

/** Spawns a process and resolves once `ready(output)` returns a port. */
export async function startChild(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: (output: string) => number | undefined,
  timeoutMs = 120_000,
): Promise<Child> {
  const proc = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const child: Child = {
    proc,
    port: 0,
    serverPid: () => descendants(proc.pid!).at(-1) ?? proc.pid!,
    output: () => output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const port = ready(output);
    if (port) {
      child.port = port;
      return child;
    }
    if (proc.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited (${proc.exitCode}):\n${output.slice(-3000)}`);
    await sleep(20);
  }
  await child.stop();
  throw new Error(`${command} ${args.join(' ')} not ready after ${timeoutMs} ms:\n${output.slice(-3000)}`);
}

/** pid, its children, their children... (tsx runs the program in a child node process). */
function descendants(pid: number): number[] {
  const out = [pid];
  try {
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const k of kids) out.push(...descendants(k));
  } catch {}
  return out;
}

/** Current and peak resident set size of a process, in MiB (Linux /proc). */
export function rss(pid: number): { rss: number; peak: number } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return NaN;
  }
}

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
export async function load(opts: { url: string; headers: Record<string, string>; body: string; connections: number; seconds: number; pid?: number }): Promise<LoadResult> {
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

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

export const fmt = {
  n: (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a'),
  ms: (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 2 : 1)} ms` : 'n/a'),
  pct: (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %` : 'n/a'),
};
