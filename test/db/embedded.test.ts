import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';

// The embedded database has no password and runs as superuser: it must be
// reachable only by the process that opened it, and only one process may
// open a data directory (issue 9, findings 2 and 7).

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'consentql-embedded-test-'));
// One data directory for all three: creating a PGlite cluster takes seconds.
const dataDir = path.join(root, 'data');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the embedded database', () => {
  it('listens on no TCP port: only a Unix socket in a private directory, and keeps its data directory private', async () => {
    const db = await openDatabase({ dataDir });
    try {
      const { rows } = await db.pool.query<{ addr: string | null }>('SELECT inet_server_addr()::text AS addr');
      expect(rows[0].addr).toBeNull(); // NULL over a Unix socket
      const { connectionString } = (db.pool as unknown as { options: { connectionString: string } }).options;
      const socketDir = new URL(connectionString).searchParams.get('host')!;
      expect(socketDir).toMatch(/consentql-/);
      expect(fs.statSync(socketDir).mode & 0o777).toBe(0o700);
      expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('refuses a second process on a held data directory, naming the directory and the holder, and frees it on close', async () => {
    const db = await openDatabase({ dataDir });
    try {
      await expect(openDatabase({ dataDir })).rejects.toThrow(new RegExp(`${dataDir} is in use by process ${process.pid}`));
      // Another process (npm run db:seed, npm run consent-link, a second npm start) is refused the same way.
      const child = spawn(
        process.execPath,
        [
          '-e',
          `import('./src/db/database.ts').then((m) => m.openDatabase({ dataDir: ${JSON.stringify(dataDir)} })).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); })`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect(code).toBe(3);
      expect(stderr).toContain(`in use by process ${process.pid}`);
    } finally {
      await db.close();
    }
    const again = await openDatabase({ dataDir });
    await again.close();
  }, 120_000);

  it('takes over the lock of a process that died', async () => {
    fs.writeFileSync(`${dataDir}.lock`, '999999999');
    const db = await openDatabase({ dataDir });
    await db.close();
    expect(fs.existsSync(`${dataDir}.lock`)).toBe(false);
  });
});
