import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyOf } from '../support/app.ts';

const root = path.resolve(import.meta.dirname, '../..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentql-start-'));
const children: ChildProcess[] = [];
/** The server processes npm started (`exec node src/main.ts`), by the pid they log. */
const servers: number[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const pid of servers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** Starts the server through `npm start` (with the project's Node first on PATH), and waits for its ready line. */
async function start(): Promise<{ url: string; log: string; pid: number; stop(): Promise<number | null> }> {
  const child = spawn('npm', ['start'], {
    cwd: root,
    env: {
      ...process.env,
      PATH: `${path.join(root, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      NODE_ENV: 'development',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 90 s; log:\n${log}`)), 90_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const match = /GraphiQL at (http:\/\/localhost:\d+\/graphql)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}; log:\n${log}`)));
  });
  // The server's own pid, from its log lines: npm's script execs it in place of the shell.
  const pid = Number(/"pid":(\d+)/.exec(log)?.[1]);
  servers.push(pid);
  return {
    url,
    pid,
    get log() {
      return log;
    },
    stop: () =>
      new Promise((resolve) => {
        // 'close': exited, and its output read to the end.
        child.once('close', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

describe('npm start on a fresh data directory', () => {
  it('migrates, seeds, serves GraphiQL and the API, then restarts on the same data without reseeding', async () => {
    const first = await start();
    expect(first.log).toContain(dataDir);
    expect(first.log).toContain('demo data seeded');
    expect(first.log).toContain('Bearer dev-support-chatbot-key');

    const page = await fetch(first.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('GraphiQL');

    const response = await fetch(first.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${keyOf('support-chatbot')}`,
        'x-purpose': 'support',
      },
      body: JSON.stringify({ query: '{ customers(first: 2) { totalCount edges { node { firstName } } } }' }),
    });
    const body = await response.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.customers.totalCount).toBeGreaterThanOrEqual(5000);
    expect(body.extensions.consent.purpose).toBe('support');
    expect(await first.stop()).toBe(0);
    // No orphan: the server process is gone with npm, and its port is closed.
    expect(isAlive(first.pid)).toBe(false);
    expect(await portClosed(Number(new URL(first.url).port))).toBe(true);
    expect(first.log).toContain('"msg":"stopped"');

    const second = await start();
    expect(second.log).not.toContain('demo data seeded');
    const health = await fetch(second.url.replace('/graphql', '/health'));
    expect(health.status).toBe(200);
    expect(await second.stop()).toBe(0);
    expect(isAlive(second.pid)).toBe(false);
    expect(await portClosed(Number(new URL(second.url).port))).toBe(true);
  }, 200_000);
});
