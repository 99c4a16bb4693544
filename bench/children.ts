// The processes `npm run bench` spawns: starting one until it is ready, what it
// uses (CPU, RSS, from Linux /proc), and stopping all of them, and removing the
// temporary directories, however the run ends.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './lib.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Child {
  proc: ChildProcess;
  port: number;
  /** The process that serves (for RSS): the spawned one, or tsx's node child. */
  serverPid(): number;
  stop(): Promise<void>;
  output(): string;
}

const running: Child[] = [];
const tmpDirs: string[] = [];

/** Spawns a process and resolves once `ready(output)` returns a port; cleanUp() stops it if nothing else did. */
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
      running.push(child);
      return child;
    }
    if (proc.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited (${proc.exitCode}):\n${output.slice(-3000)}`);
    await sleep(20);
  }
  await child.stop();
  throw new Error(`${command} ${args.join(' ')} not ready after ${timeoutMs} ms:\n${output.slice(-3000)}`);
}

export const graphqlUrl = (c: Child) => `http://127.0.0.1:${c.port}/graphql`;

/** A temporary directory, removed by cleanUp(). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}

/** Stops every child still running and removes the temporary directories. */
export async function cleanUp() {
  for (const c of running.splice(0)) await c.stop().catch(() => {});
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
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

/** Current and peak resident set size of a process, in MiB. */
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
