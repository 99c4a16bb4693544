// One API server for `npm run bench`, run as its own process (node --import tsx
// bench/server.ts) so that its RSS and CPU are its own. BENCH_VARIANT selects
// which (see variants.ts). Prints "READY <port>" on stdout once it listens.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { buildVariant, VARIANTS, type Variant } from './variants.ts';

const variant = process.env.BENCH_VARIANT as Variant;
if (!VARIANTS.includes(variant)) throw new Error(`BENCH_VARIANT must be one of ${VARIANTS.join(', ')}, got ${variant}`);
const config = loadConfig();
const logger = pino({ level: config.logLevel });
const db = await openDatabase({ databaseUrl: config.database.url, dataDir: config.database.dataDir });
const yoga = buildVariant(variant, config, db, logger);
const server = http.createServer(yoga);
await new Promise<void>((resolve) => server.listen(config.http.port, '127.0.0.1', resolve));
process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);

const stop = () => {
  server.closeAllConnections();
  server.close(() => void db.close().finally(() => process.exit(0)));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
