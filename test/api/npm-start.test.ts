import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyOf } from '../support/app.ts';

const root = path.resolve(import.meta.dirname, '../..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentql-start-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the server exactly as `npm start` does, and waits for its ready line. */
async function start(): Promise<{ url: string; log: string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, DATABASE_URL: '', NODE_ENV: 'development' },
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
  return {
    url,
    get log() {
      return log;
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', (code) => resolve(code));
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

    const second = await start();
    expect(second.log).not.toContain('demo data seeded');
    const health = await fetch(second.url.replace('/graphql', '/health'));
    expect(health.status).toBe(200);
    expect(await second.stop()).toBe(0);
  }, 200_000);
});
