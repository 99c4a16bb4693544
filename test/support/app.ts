import { inject } from 'vitest';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { createServer } from '../../src/server.ts';
import { createMasker } from '../../src/masking/index.ts';
import { startPropagation, type Propagation, type PropagationOptions } from '../../src/propagation/index.ts';
import { DEMO_CLIENTS } from '../../src/db/demo-clients.ts';

export const databaseUrl = () => inject('databaseUrl');
/** The socket peer of every test request (a documentation address, RFC 5737). */
export const TEST_PEER_ADDRESS = '192.0.2.10';
/** A test server's settings: NODE_ENV=test and what `env` adds, read as the server reads the environment. */
export const testConfig = (env: Record<string, string> = {}): Config => loadConfig({ NODE_ENV: 'test', ...env });
/** The masker of a test server (the development key), for pseudonyms in webhook notices. */
export const testMasker = () => createMasker(testConfig().keys.hmac);
/** Propagation settings of a test: the defaults with `overrides`. */
export const testPropagationOptions = (overrides: Partial<PropagationOptions> = {}): PropagationOptions => ({
  ...testConfig().propagation,
  ...overrides,
});
/** One connection per pool on PGlite: its socket server cannot keep connections apart (src/db/database.ts). */
export const poolSize = () => (inject('databaseKind') === 'pglite' ? 1 : undefined);

export interface RequestOptions<Variables> {
  variables?: Variables;
  /** A demo client's name: its key goes into the Authorization header. */
  client?: string;
  /** The X-Purpose header. */
  purpose?: string;
  headers?: Record<string, string>;
}

export interface GraphQLBody<Result> {
  data?: Result | null;
  // Loosely typed on purpose: tests assert on them whole.
  errors?: any;
  extensions?: any;
}

export interface TestAppOptions {
  /** Environment variables the server's config is read from, beyond NODE_ENV=test. */
  env?: Record<string, string>;
  /** Another database than the suite's (a scratch one). */
  databaseUrl?: string;
  /** Start the change hub (and the webhook dispatcher unless `dispatch: false`) with these settings. */
  propagation?: Partial<PropagationOptions>;
}

export interface TestApp {
  db: Database;
  /** Null unless started with the `propagation` option. */
  propagation: Propagation | null;
  /** SQL statements Prisma sent since the last `resetQueries()`. */
  queries: string[];
  resetQueries(): void;
  /** POST a GraphQL request through Yoga's real HTTP handling (no port). */
  graphql<Result = any, Variables = Record<string, unknown>>(
    query: string | TypedDocumentNode<Result, Variables>,
    options?: RequestOptions<Variables>,
  ): Promise<{ status: number; body: GraphQLBody<Result> }>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export function keyOf(clientName: string): string {
  const client = DEMO_CLIENTS.find((c) => c.name === clientName);
  if (!client) throw new Error(`No demo client named ${clientName}; known: ${DEMO_CLIENTS.map((c) => c.name).join(', ')}`);
  return client.apiKey;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const queries: string[] = [];
  const config = testConfig(options.env);
  const db = await openDatabase({
    databaseUrl: options.databaseUrl ?? databaseUrl(),
    poolSize: poolSize(),
    onQuery: (sql) => queries.push(sql),
  });
  const logger = pino({ level: 'silent' });
  const masker = createMasker(config.keys.hmac);
  const propagation = options.propagation
    ? await startPropagation(db, logger, masker, { ...config.propagation, ...options.propagation })
    : null;
  const yoga = createServer({ config, db, logger, masker, ...(propagation ? { propagation } : {}) });
  // As node:http would give it: the peer address the proof of consent hashes (src/http/trusted-proxies.ts).
  const peer = { req: { socket: { remoteAddress: TEST_PEER_ADDRESS } } };
  const fetchPath = (path: string, init?: RequestInit) => Promise.resolve(yoga.fetch(new Request(`http://localhost${path}`, init), peer));
  return {
    db,
    propagation,
    queries,
    resetQueries: () => queries.splice(0),
    fetch: fetchPath,
    async graphql(query, options = {}) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...options.headers,
      };
      if (options.client) headers.authorization = `Bearer ${keyOf(options.client)}`;
      if (options.purpose) headers['x-purpose'] = options.purpose;
      const response = await fetchPath('/graphql', {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: typeof query === 'string' ? query : print(query), variables: options.variables }),
      });
      return { status: response.status, body: await response.json() };
    },
    async close() {
      await propagation?.stop();
      await db.close();
    },
  };
}
