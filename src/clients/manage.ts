import os from 'node:os';
import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import { Prisma, type ApiClient, type ClientAudit } from '../generated/prisma/client.ts';
import type { ClientAuditAction, ClientRole } from '../generated/prisma/enums.ts';
import { findPurpose, PURPOSE_KEYS } from '../policy/taxonomy.ts';
import { announceClientsChanged, CLIENTS_CHANNEL } from './changes.ts';
import { hashApiKey, newApiKey } from './keys.ts';

// The life cycle of API clients, shared by the admin mutations
// (src/schema/client-fields.ts) and `npm run client` (scripts/client.ts).
// Each change runs in one transaction that writes the client, its audit row
// and a NOTIFY on CLIENTS_CHANNEL, so every instance drops its cached keys
// when, and only when, the change commits. Keys are returned once, to the
// caller; only their SHA-256 is stored, and neither appears in the audit.

export const CLIENT_ROLES = ['CONSUMER', 'SCHEMA_OWNER', 'ADMIN', 'CONSENT_RECORDER'] as const satisfies readonly ClientRole[];
export type ClientStatus = 'ACTIVE' | 'EXPIRED' | 'REVOKED';

/** The longest a rotated-out key may keep working: 30 days. */
export const MAX_OVERLAP_SECONDS = 30 * 24 * 3600;
export const DEFAULT_OVERLAP_SECONDS = 3600;

/** Client changes take turns (they are rare): the checks below read what the one before committed. */
const CLIENTS_LOCK = 0x436c6e74; // "Clnt"

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Who makes a change: an admin client, or the command line. */
export interface Actor {
  /** The admin client's id; null for `npm run client`. */
  clientId: string | null;
  /** Readable, for the audit: "client schema-admin", "npm run client (ops@db-1)". */
  name: string;
}

export function clientActor(client: { id: string; name: string }): Actor {
  return { clientId: client.id, name: `client ${client.name}` };
}

export function commandLineActor(): Actor {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return { clientId: null, name: `npm run client (${user}@${os.hostname()})` };
}

/** A client as shown to admins: never its key or a hash of it. */
export interface ClientRecord {
  id: string;
  name: string;
  role: ClientRole;
  allowedPurposes: string[];
  canExplain: boolean;
  status: ClientStatus;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** After a rotation: when the previous key stops working (null: none works any more). */
  previousKeyExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

export interface IssuedKey {
  client: ClientRecord;
  /** The new API key: shown this once, stored only as its SHA-256. */
  apiKey: string;
}

export interface CreateClientInput {
  name: string;
  role: ClientRole;
  allowedPurposes: readonly string[];
  canExplain?: boolean | null;
  expiresAt?: Date | null;
}

export interface UpdateClientInput {
  allowedPurposes?: readonly string[] | null;
  canExplain?: boolean | null;
  role?: ClientRole | null;
}

export interface AuditEntry {
  id: string;
  actorClientId: string | null;
  actor: string;
  action: ClientAuditAction;
  clientId: string;
  clientName: string;
  changes: { field: string; from: unknown; to: unknown }[];
  occurredAt: Date;
}

type Tx = Prisma.TransactionClient;
type Changes = Record<string, { from?: unknown; to: unknown }>;

function statusOf(row: ApiClient, now = new Date()): ClientStatus {
  if (row.revokedAt) return 'REVOKED';
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return 'EXPIRED';
  return 'ACTIVE';
}

/** Field by field, so that a column added later (a hash…) is not shown by accident. */
function recordOf(row: ApiClient, now = new Date()): ClientRecord {
  const previousLive = row.previousKeyHash !== null && row.previousKeyExpiresAt !== null && row.previousKeyExpiresAt > now;
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    allowedPurposes: [...row.allowedPurposes],
    canExplain: row.canExplain,
    status: statusOf(row, now),
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    previousKeyExpiresAt: previousLive ? row.previousKeyExpiresAt : null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    createdBy: row.createdBy,
    updatedBy: row.updatedBy,
  };
}

// ---------------------------------------------------------------- validation

function badInput(argument: string, message: string, details: Record<string, unknown> = {}): ConsentQLError {
  return new ConsentQLError('BAD_USER_INPUT', message, { argument, ...details });
}

export function checkId(id: string, argument = 'id'): string {
  if (!UUID.test(id))
    throw badInput(argument, `${argument} expects a client id (a UUID, as \`clients\` lists), but got ${JSON.stringify(id)}.`);
  return id.toLowerCase();
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (!NAME.test(name)) {
    throw badInput(
      'name',
      `name expects 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. "crm-sync"), but got ${JSON.stringify(raw)}.`,
    );
  }
  return name;
}

function checkRole(role: string, argument = 'role'): ClientRole {
  if (!(CLIENT_ROLES as readonly string[]).includes(role)) {
    throw badInput(argument, `${argument} expects one of ${CLIENT_ROLES.join(', ')}, but got ${JSON.stringify(role)}.`);
  }
  return role as ClientRole;
}

/** Known purpose keys, deduplicated in the taxonomy's order; an unknown one is UNKNOWN_PURPOSE, listing the valid keys. */
export function checkPurposes(purposes: readonly string[], argument = 'allowedPurposes'): string[] {
  if (purposes.length === 0) {
    throw badInput(argument, `${argument} expects at least one purpose key (one of: ${PURPOSE_KEYS.join(', ')}), but got an empty list.`);
  }
  const unknown = purposes.filter((key) => !findPurpose(key));
  if (unknown.length > 0) {
    throw new ConsentQLError(
      'UNKNOWN_PURPOSE',
      `${argument} names ${unknown.map((k) => JSON.stringify(k)).join(', ')}, which ${unknown.length === 1 ? 'is not a purpose' : 'are not purposes'} ` +
        `of the taxonomy; expected keys from: ${PURPOSE_KEYS.join(', ')}.`,
      { argument, received: unknown, validPurposes: PURPOSE_KEYS },
    );
  }
  const wanted = new Set(purposes);
  return PURPOSE_KEYS.filter((key) => wanted.has(key));
}

function checkFuture(at: Date, argument: string, now: Date): Date {
  if (Number.isNaN(at.getTime())) throw badInput(argument, `${argument} expects an ISO-8601 date and time, but got an invalid date.`);
  if (at.getTime() <= now.getTime()) {
    throw badInput(
      argument,
      `${argument} must be in the future, but ${at.toISOString()} is not (now: ${now.toISOString()}). To stop a key at once, revoke the client.`,
      { received: at.toISOString() },
    );
  }
  return at;
}

function checkOverlap(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_OVERLAP_SECONDS) {
    throw badInput(
      'overlapSeconds',
      `overlapSeconds expects a whole number of seconds from 0 (the old key stops at once) to ${MAX_OVERLAP_SECONDS} (30 days), but got ${seconds}.`,
      { received: seconds },
    );
  }
  return seconds;
}

// ---------------------------------------------------------------- changes

interface Change<T> {
  result: T;
  /** null: nothing changed; nothing is audited or announced. */
  audit: { action: ClientAuditAction; client: ApiClient; changes: Changes } | null;
}

async function change<T>(db: Database, actor: Actor, work: (tx: Tx, now: Date) => Promise<Change<T>>): Promise<T> {
  let changed = false;
  const result = await db.prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1::bigint)', CLIENTS_LOCK);
      const done = await work(tx, new Date());
      if (done.audit) {
        const { action, client, changes } = done.audit;
        await tx.clientAudit.create({
          data: {
            actorClientId: actor.clientId,
            actor: actor.name,
            action,
            clientId: client.id,
            clientName: client.name,
            changes: changes as Prisma.InputJsonValue,
          },
        });
        // Delivered to every listening instance when this transaction commits, not before.
        await tx.$executeRawUnsafe(`SELECT pg_notify('${CLIENTS_CHANNEL}', $1)`, client.id);
        changed = true;
      }
      return done.result;
    },
    { timeout: 15_000, maxWait: 10_000 },
  );
  if (changed) announceClientsChanged(db);
  return result;
}

async function lockedClient(tx: Tx, id: string): Promise<ApiClient> {
  const row = await tx.apiClient.findUnique({ where: { id: checkId(id) } });
  if (!row) throw new ConsentQLError('NOT_FOUND', `No API client with id ${id}. \`clients\` lists them.`, { argument: 'id' });
  return row;
}

function refuseIfRevoked(row: ApiClient, what: string): void {
  if (row.revokedAt) {
    throw badInput(
      'id',
      `Client "${row.name}" was revoked at ${row.revokedAt.toISOString()}; a revoked client cannot ${what}. Create a new client instead.`,
      { status: 'REVOKED' },
    );
  }
}

/**
 * Through the API, revoking or demoting the last active admin would leave no
 * client that can manage clients. The command line may (a leaked admin key must
 * stop at once), as it can always create a new admin.
 */
async function refuseIfLastAdmin(tx: Tx, actor: Actor, row: ApiClient, now: Date, what: string): Promise<void> {
  if (actor.clientId === null || row.role !== 'ADMIN' || statusOf(row, now) !== 'ACTIVE') return;
  const others = await tx.apiClient.count({
    where: { role: 'ADMIN', revokedAt: null, id: { not: row.id }, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
  });
  if (others === 0) {
    throw badInput(
      'id',
      `Client "${row.name}" is the last active ADMIN: ${what} it would leave no client that can manage clients. Create another admin first, or use \`npm run client\`.`,
    );
  }
}

function uniqueNameViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

function nameTaken(name: string, existing: ApiClient | null): ConsentQLError {
  const revoked = existing?.revokedAt
    ? ` (revoked at ${existing.revokedAt.toISOString()}; names of revoked clients stay taken, for the audit trail)`
    : '';
  return badInput('name', `A client named "${name}" already exists${revoked}. Choose another name.`, { received: name });
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export async function createClient(db: Database, actor: Actor, input: CreateClientInput): Promise<IssuedKey> {
  const name = checkName(input.name);
  const role = checkRole(input.role);
  const allowedPurposes = checkPurposes(input.allowedPurposes);
  const canExplain = input.canExplain ?? false;
  const now = new Date();
  const expiresAt = input.expiresAt ? checkFuture(input.expiresAt, 'expiresAt', now) : null;
  const apiKey = newApiKey();
  try {
    return await change(db, actor, async (tx) => {
      const existing = await tx.apiClient.findUnique({ where: { name } });
      if (existing) throw nameTaken(name, existing);
      const row = await tx.apiClient.create({
        data: {
          name,
          keyHash: hashApiKey(apiKey),
          role,
          allowedPurposes,
          canExplain,
          expiresAt,
          createdBy: actor.clientId,
          updatedBy: actor.clientId,
        },
      });
      return {
        result: { client: recordOf(row), apiKey },
        audit: {
          action: 'CREATE',
          client: row,
          changes: {
            name: { to: name },
            role: { to: role },
            allowedPurposes: { to: allowedPurposes },
            canExplain: { to: canExplain },
            expiresAt: { to: iso(expiresAt) },
          },
        },
      };
    });
  } catch (error) {
    // Two creations racing past the lock cannot happen, but a row written by hand can.
    if (uniqueNameViolation(error)) throw nameTaken(name, null);
    throw error;
  }
}

export async function updateClient(db: Database, actor: Actor, id: string, input: UpdateClientInput): Promise<ClientRecord> {
  const allowedPurposes = input.allowedPurposes == null ? null : checkPurposes(input.allowedPurposes);
  const role = input.role == null ? null : checkRole(input.role);
  const canExplain = input.canExplain ?? null;
  if (allowedPurposes === null && role === null && canExplain === null) {
    throw badInput('allowedPurposes', 'updateClient expects at least one of allowedPurposes, canExplain or role, but got none.');
  }
  return change(db, actor, async (tx, now) => {
    const row = await lockedClient(tx, id);
    refuseIfRevoked(row, 'be changed');
    const changes: Changes = {};
    if (allowedPurposes && allowedPurposes.join(',') !== row.allowedPurposes.join(',')) {
      changes.allowedPurposes = { from: row.allowedPurposes, to: allowedPurposes };
    }
    if (canExplain !== null && canExplain !== row.canExplain) changes.canExplain = { from: row.canExplain, to: canExplain };
    if (role !== null && role !== row.role) {
      if (row.role === 'ADMIN') await refuseIfLastAdmin(tx, actor, row, now, 'demoting');
      changes.role = { from: row.role, to: role };
    }
    if (Object.keys(changes).length === 0) return { result: recordOf(row, now), audit: null };
    const updated = await tx.apiClient.update({
      where: { id: row.id },
      data: {
        ...(changes.allowedPurposes ? { allowedPurposes: allowedPurposes! } : {}),
        ...(changes.canExplain ? { canExplain: canExplain! } : {}),
        ...(changes.role ? { role: role! } : {}),
        updatedAt: now,
        updatedBy: actor.clientId,
      },
    });
    return { result: recordOf(updated, now), audit: { action: 'UPDATE', client: updated, changes } };
  });
}

/**
 * A new key, returned once. The old one keeps working for `overlapSeconds`
 * (0: it stops at once), so its holders can switch without an outage; a key
 * rotated out before still in its overlap stops now (one previous key at a time).
 */
export async function rotateClientKey(db: Database, actor: Actor, id: string, overlapSeconds: number): Promise<IssuedKey> {
  const overlap = checkOverlap(overlapSeconds);
  const apiKey = newApiKey();
  return change(db, actor, async (tx, now) => {
    const row = await lockedClient(tx, id);
    refuseIfRevoked(row, 'have its key rotated');
    const previousKeyExpiresAt = overlap > 0 ? new Date(now.getTime() + overlap * 1000) : null;
    const updated = await tx.apiClient.update({
      where: { id: row.id },
      data: {
        keyHash: hashApiKey(apiKey),
        previousKeyHash: previousKeyExpiresAt ? row.keyHash : null,
        previousKeyExpiresAt,
        updatedAt: now,
        updatedBy: actor.clientId,
      },
    });
    const before = recordOf(row, now).previousKeyExpiresAt;
    return {
      result: { client: recordOf(updated, now), apiKey },
      audit: {
        action: 'ROTATE_KEY',
        client: updated,
        changes: { overlapSeconds: { to: overlap }, previousKeyExpiresAt: { from: iso(before), to: iso(previousKeyExpiresAt) } },
      },
    };
  });
}

/** When the key stops working; null: never. An instant in the past is refused (revoke instead). */
export async function setClientExpiry(db: Database, actor: Actor, id: string, expiresAt: Date | null): Promise<ClientRecord> {
  return change(db, actor, async (tx, now) => {
    if (expiresAt) checkFuture(expiresAt, 'expiresAt', now);
    const row = await lockedClient(tx, id);
    refuseIfRevoked(row, 'have its expiry changed');
    if (iso(row.expiresAt) === iso(expiresAt)) return { result: recordOf(row, now), audit: null };
    const updated = await tx.apiClient.update({ where: { id: row.id }, data: { expiresAt, updatedAt: now, updatedBy: actor.clientId } });
    return {
      result: recordOf(updated, now),
      audit: { action: 'SET_EXPIRY', client: updated, changes: { expiresAt: { from: iso(row.expiresAt), to: iso(expiresAt) } } },
    };
  });
}

/** Its keys (current and previous) stop working on every instance as soon as this commits. Revoking twice changes nothing. */
export async function revokeClient(db: Database, actor: Actor, id: string): Promise<ClientRecord> {
  return change(db, actor, async (tx, now) => {
    const row = await lockedClient(tx, id);
    if (row.revokedAt) return { result: recordOf(row, now), audit: null };
    await refuseIfLastAdmin(tx, actor, row, now, 'revoking');
    const updated = await tx.apiClient.update({
      where: { id: row.id },
      data: { revokedAt: now, previousKeyHash: null, previousKeyExpiresAt: null, updatedAt: now, updatedBy: actor.clientId },
    });
    return {
      result: recordOf(updated, now),
      audit: { action: 'REVOKE', client: updated, changes: { revokedAt: { from: null, to: iso(now) } } },
    };
  });
}

export async function listClients(db: Database, filter: { status?: ClientStatus | null } = {}): Promise<ClientRecord[]> {
  const now = new Date();
  const rows = await db.prisma.apiClient.findMany({ orderBy: [{ name: 'asc' }] });
  return rows.map((row) => recordOf(row, now)).filter((c) => !filter.status || c.status === filter.status);
}

export async function findClientByName(db: Database, name: string): Promise<ClientRecord> {
  const row = await db.prisma.apiClient.findUnique({ where: { name } });
  if (!row)
    throw new ConsentQLError('NOT_FOUND', `No API client named ${JSON.stringify(name)}. \`npm run client -- list\` lists them.`, {
      argument: 'name',
    });
  return recordOf(row);
}

function entryOf(row: ClientAudit): AuditEntry {
  const changes = (row.changes ?? {}) as Record<string, { from?: unknown; to?: unknown }>;
  return {
    id: String(row.id),
    actorClientId: row.actorClientId,
    actor: row.actor,
    action: row.action,
    clientId: row.clientId,
    clientName: row.clientName,
    changes: Object.entries(changes).map(([field, c]) => ({ field, from: c.from ?? null, to: c.to ?? null })),
    occurredAt: row.occurredAt,
  };
}

/** The audit trail, newest first. */
export async function clientAudit(db: Database, filter: { clientId?: string | null; first?: number | null } = {}): Promise<AuditEntry[]> {
  const first = filter.first ?? 50;
  if (!Number.isInteger(first) || first < 1 || first > 1000)
    throw badInput('first', `first expects a number from 1 to 1000, but got ${first}.`);
  const rows = await db.prisma.clientAudit.findMany({
    where: filter.clientId ? { clientId: checkId(filter.clientId, 'clientId') } : {},
    orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }],
    take: first,
  });
  return rows.map(entryOf);
}
