// npm run client -- <command> [options]: manages API clients from the command
// line, with the module the admin mutations use (src/clients/manage.ts). The
// way to create the first admin client of a deployment (it has none, and the
// API needs an admin to create one):
//
//   DATABASE_URL=postgresql://… npm run client -- create --name ops-admin --role ADMIN --purposes consent_management --explain
//
// Uses DATABASE_URL, or the embedded database in DATA_DIR (default .data),
// migrated first as `npm run db:seed` does. Every change is audited (as
// "npm run client (<user>@<host>)") and announced to running servers, which
// drop their cached keys within a second. The embedded database takes one
// process at a time: stop `npm start` first.
import fs from 'node:fs';
import { loadDatabaseConfig, type DatabaseConfig } from '../src/config.ts';
import { openDatabase, type Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { ConsentQLError } from '../src/errors.ts';
import {
  CLIENT_ROLES,
  commandLineActor,
  createClient,
  DEFAULT_OVERLAP_SECONDS,
  findClientByName,
  listClients,
  revokeClient,
  rotateClientKey,
  setClientExpiry,
  updateClient,
  type ClientRecord,
  type ClientStatus,
} from '../src/clients/manage.ts';
import type { ClientRole } from '../src/generated/prisma/enums.ts';

const USAGE = `usage: npm run client -- <command> [options]

  create --name N --role ${CLIENT_ROLES.join('|')} --purposes a,b [--explain] [--expires ISO]
                                   registers a client; prints its API key (once) on stdout
  list [--status ACTIVE|EXPIRED|REVOKED]
                                   lists the clients (never their keys)
  update --name N [--purposes a,b] [--explain | --no-explain] [--role R]
                                   changes what a client may do
  rotate --name N [--overlap SECONDS]
                                   issues a new key (printed once); the old one works for
                                   the overlap (default ${DEFAULT_OVERLAP_SECONDS} s; 0: stops at once)
  expire --name N --at ISO|never   sets when the client's key stops working
  revoke --name N                  stops the client's keys at once, for good

Reads DATABASE_URL (PostgreSQL) or DATA_DIR (the embedded database, default .data).`;

type Options = Record<string, string | true>;

const FLAGS = new Set(['explain', 'no-explain', 'help']);

function parse(argv: string[]): { command: string; options: Options } | string {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') return USAGE;
  const options: Options = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) return `unexpected argument ${JSON.stringify(arg)}.\n\n${USAGE}`;
    const [, name, inline] = match;
    if (FLAGS.has(name)) {
      if (inline !== undefined) return `--${name} takes no value.\n\n${USAGE}`;
      options[name] = true;
      continue;
    }
    const value = inline ?? rest[++i];
    if (value === undefined || value.startsWith('--')) return `--${name} expects a value.\n\n${USAGE}`;
    options[name] = value;
  }
  return { command, options };
}

class UsageError extends Error {}

function only(options: Options, allowed: string[]): void {
  const extra = Object.keys(options).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new UsageError(`unknown option${extra.length > 1 ? 's' : ''} ${extra.map((k) => `--${k}`).join(', ')}.`);
}

function text(options: Options, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}

function required(options: Options, name: string): string {
  const value = text(options, name);
  if (value === undefined) throw new UsageError(`--${name} is required.`);
  return value;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function role(value: string): ClientRole {
  const upper = value.toUpperCase();
  if (!(CLIENT_ROLES as readonly string[]).includes(upper))
    throw new UsageError(`--role expects one of ${CLIENT_ROLES.join(', ')}, got ${value}.`);
  return upper as ClientRole;
}

function instant(value: string, option: string): Date {
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new UsageError(`${option} expects an ISO-8601 date and time such as 2027-01-31T00:00:00Z, got ${value}.`);
  return at;
}

function describe(c: ClientRecord): string {
  const parts = [
    `${c.role}`,
    `purposes: ${c.allowedPurposes.join(', ') || '(none)'}`,
    c.canExplain ? 'may explain' : null,
    c.expiresAt ? `expires ${c.expiresAt.toISOString()}` : null,
    c.previousKeyExpiresAt ? `previous key until ${c.previousKeyExpiresAt.toISOString()}` : null,
  ].filter(Boolean);
  return `"${c.name}" (${parts.join('; ')}), id ${c.id}, ${c.status}`;
}

const APPLIED = 'Running servers on this database apply it within a second.';

/** The API cannot manage clients without an active admin: say so after a change that may leave none. */
async function warnIfNoAdmin(db: Database): Promise<void> {
  const admins = (await listClients(db, { status: 'ACTIVE' })).filter((c) => c.role === 'ADMIN');
  if (admins.length === 0) {
    console.error(
      'warning: no active ADMIN client is left; create one with `npm run client -- create --name <name> --role ADMIN --purposes <purposes>`.',
    );
  }
}

async function run(db: Database, command: string, options: Options): Promise<void> {
  const actor = commandLineActor();
  const byName = async () => (await findClientByName(db, required(options, 'name'))).id;
  switch (command) {
    case 'create': {
      only(options, ['name', 'role', 'purposes', 'explain', 'expires']);
      const expires = text(options, 'expires');
      const { client, apiKey } = await createClient(db, actor, {
        name: required(options, 'name'),
        role: role(required(options, 'role')),
        allowedPurposes: list(required(options, 'purposes')),
        canExplain: options.explain === true,
        expiresAt: expires ? instant(expires, '--expires') : null,
      });
      console.error(`created client ${describe(client)}`);
      console.error("its API key follows, shown this once: give it to the client's owner now (only its SHA-256 is stored).");
      console.log(apiKey);
      return;
    }
    case 'list': {
      only(options, ['status']);
      const status = text(options, 'status')?.toUpperCase();
      if (status && !['ACTIVE', 'EXPIRED', 'REVOKED'].includes(status))
        throw new UsageError(`--status expects ACTIVE, EXPIRED or REVOKED, got ${status}.`);
      const clients = await listClients(db, { status: (status as ClientStatus | undefined) ?? null });
      if (clients.length === 0) {
        console.error(
          status
            ? `no ${status} clients.`
            : 'no clients yet: create the first admin with `npm run client -- create --name <name> --role ADMIN --purposes <purposes>`.',
        );
        return;
      }
      console.table(
        clients.map((c) => ({
          name: c.name,
          role: c.role,
          status: c.status,
          purposes: c.allowedPurposes.join(','),
          explain: c.canExplain,
          expires: c.expiresAt?.toISOString() ?? '',
          'previous key until': c.previousKeyExpiresAt?.toISOString() ?? '',
          id: c.id,
        })),
      );
      return;
    }
    case 'update': {
      only(options, ['name', 'purposes', 'explain', 'no-explain', 'role']);
      if (options.explain && options['no-explain']) throw new UsageError('--explain and --no-explain exclude each other.');
      const purposes = text(options, 'purposes');
      const newRole = text(options, 'role');
      const client = await updateClient(db, actor, await byName(), {
        allowedPurposes: purposes === undefined ? null : list(purposes),
        canExplain: options.explain ? true : options['no-explain'] ? false : null,
        role: newRole === undefined ? null : role(newRole),
      });
      console.error(`updated client ${describe(client)}. ${APPLIED}`);
      await warnIfNoAdmin(db);
      return;
    }
    case 'rotate': {
      only(options, ['name', 'overlap']);
      const raw = text(options, 'overlap');
      const overlap = raw === undefined ? DEFAULT_OVERLAP_SECONDS : Number(raw);
      if (raw !== undefined && !/^\d+$/.test(raw)) throw new UsageError(`--overlap expects a whole number of seconds, got ${raw}.`);
      const { client, apiKey } = await rotateClientKey(db, actor, await byName(), overlap);
      console.error(
        `rotated the key of client ${describe(client)}. ` +
          (client.previousKeyExpiresAt
            ? `The old key works until ${client.previousKeyExpiresAt.toISOString()}.`
            : 'The old key no longer works.'),
      );
      console.error('the new API key follows, shown this once (only its SHA-256 is stored):');
      console.log(apiKey);
      return;
    }
    case 'expire': {
      only(options, ['name', 'at']);
      const at = required(options, 'at');
      const client = await setClientExpiry(db, actor, await byName(), at === 'never' ? null : instant(at, '--at'));
      console.error(`client ${describe(client)}. ${APPLIED}`);
      return;
    }
    case 'revoke': {
      only(options, ['name']);
      const before = await findClientByName(db, required(options, 'name'));
      if (before.revokedAt) {
        console.error(`client "${before.name}" was already revoked, at ${before.revokedAt.toISOString()}.`);
        return;
      }
      const client = await revokeClient(db, actor, before.id);
      console.error(`revoked client ${describe(client)}. ${APPLIED}`);
      await warnIfNoAdmin(db);
      return;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}.`);
  }
}

async function main(): Promise<number> {
  const parsed = parse(process.argv.slice(2));
  if (typeof parsed === 'string') {
    (parsed === USAGE ? console.log : console.error)(parsed);
    return parsed === USAGE ? 0 : 2;
  }
  let config: DatabaseConfig;
  try {
    // Only where the database is matters here: the checks a production
    // server start needs (its proof key…) are not this command's business.
    config = loadDatabaseConfig();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const embedded = !config.url;
  if (embedded && !fs.existsSync(config.dataDir)) {
    if (parsed.command !== 'create') {
      console.error(`There is no embedded database in ${config.dataDir}. Set DATA_DIR to the server's, or DATABASE_URL for PostgreSQL.`);
      return 1;
    }
    console.error(`note: no embedded database in ${config.dataDir} yet; creating one (set DATA_DIR or DATABASE_URL to use another).`);
  }
  let db: Database;
  try {
    db = await openDatabase({ databaseUrl: config.url, dataDir: config.dataDir, poolSize: embedded ? undefined : 2 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const holder = /in use by process (\d+)/.exec(message);
    if (embedded && holder) {
      console.error(
        `The embedded database in ${config.dataDir} is in use by process ${holder[1]}, most likely a running server (npm start). ` +
          'An embedded database takes one process at a time: stop the server, run this command again, then start the server. ' +
          '(With PostgreSQL, DATABASE_URL, this command runs next to running servers, and they apply its changes within a second.)',
      );
      return 3;
    }
    console.error(`Could not open the database (${config.url ? 'DATABASE_URL' : config.dataDir}): ${message}`);
    return 1;
  }
  try {
    const { applied } = await migrate(db.pool);
    if (applied.length > 0) console.error(`applied ${applied.length} migration(s): ${applied.join(', ')}`);
    await run(db, parsed.command, parsed.options);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConsentQLError) {
      console.error(`${error.extensions.code}: ${error.message}`);
      return 2;
    }
    console.error(`failed on ${db.location}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await db.close().catch(() => {});
  }
}

process.exitCode = await main();
