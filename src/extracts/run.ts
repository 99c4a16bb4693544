import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { Masker } from '../masking/index.ts';
import { POLICY_VERSION } from '../policy/decide.ts';
import type { DeploymentMode, PurposeDefinition } from '../policy/types.ts';
import type { AuthenticatedClient } from '../schema/context.ts';
import { exclusionReason, RowDecider, type SourceRow } from './decide-rows.ts';
import { fieldDecision, type ExtractField } from './fields.ts';
import { columnsOf, createEncoder, type Format } from './formats.ts';
import { sendLateNotices } from './lineage.ts';
import type { ExtractManifest } from './manifest.ts';
import { exclusionsStatement, membersStatement, rowsStatement, type Statement } from './sql.ts';

// One extract, from the request to its manifest.
//
// The rows are read through a server-side cursor, a batch per FETCH, and each
// batch is decided, encoded and hashed only when the HTTP response asks for
// more (a pull stream with one batch of lookahead): memory stays flat however
// many rows there are, and a slow client slows the cursor instead of filling
// buffers. Everything the extract reads comes from one snapshot:
// - on PostgreSQL, a REPEATABLE READ READ ONLY transaction on a connection of
//   its own holds the cursor and exports its snapshot; a second connection
//   imports it to write the lineage (extract_member, one INSERT … SELECT with
//   the same filter) and count who was left out, while the rows stream;
// - on the embedded PGlite (one session for every connection), one short
//   transaction writes the lineage and declares a WITH HOLD cursor, which
//   PostgreSQL materialises at commit; the batches are then fetched through
//   the pool between other requests' statements.
// Once the lineage has committed, withdrawals that could not see it get their
// notices (src/extracts/lineage.ts). The manifest is stored before the last
// byte is sent, so a client that has read the whole body finds it complete.

/** Rows per FETCH (two batches are held at most), after a first small one that gets the first bytes out sooner. */
export const FETCH_ROWS = 10_000;
const FIRST_FETCH_ROWS = 500;
/** How long a stalled client may hold an extract's snapshot open (PostgreSQL). */
const IDLE_TIMEOUT_MS = 10 * 60_000;

export interface ExtractDeps {
  db: Database;
  masker: Masker;
  mode: DeploymentMode;
  logger: Logger;
  /** Called once when the extract has ended, completed or not (its slot is free again). */
  onEnd?: () => void;
}

export interface ExtractSpec {
  client: AuthenticatedClient;
  purpose: PurposeDefinition;
  fields: readonly ExtractField[];
  format: Format;
}

export interface StartedExtract {
  id: string;
  contentType: string;
  filename: string;
  body: ReadableStream<Uint8Array>;
}

interface Exclusions {
  total: number;
  byReason: Record<string, number>;
}

/** Where the rows come from, at one snapshot. */
interface RowSource {
  snapshotAt: Date;
  /** The highest outbox id the snapshot sees. */
  outboxMark: string;
  fetch(rows: number): Promise<SourceRow[]>;
  /** Settles once the lineage has committed, with who was left out. */
  lineage: Promise<Exclusions>;
  /** Ends the read; `ok` false on failure or cancellation. */
  close(ok: boolean): Promise<void>;
}

interface Statements {
  rows: Statement;
  members: Statement;
  exclusions: Statement;
}

export async function startExtract(deps: ExtractDeps, spec: ExtractSpec): Promise<StartedExtract> {
  const { db, masker, mode } = deps;
  const { purpose, fields, format, client } = spec;
  const now = new Date();
  const created = await db.prisma.extract.create({
    data: {
      clientId: client.id,
      purposeKey: purpose.key,
      purposeVersion: purpose.version,
      policyVersion: POLICY_VERSION,
      snapshotAt: now,
      format,
      fields: fields.map((f) => f.name),
    },
    select: { id: true, createdAt: true },
  });
  const id = String(created.id);
  let source: RowSource;
  try {
    // Inside the try: an extract whose statements cannot be built is FAILED, not left RUNNING.
    const reads = RowDecider.reads(purpose, fields);
    const statements: Statements = {
      rows: rowsStatement(purpose, mode, now, fields, reads),
      members: membersStatement(purpose, mode, now, fields, id),
      exclusions: exclusionsStatement(purpose, mode, now),
    };
    source = (await isPglite(db))
      ? await openEmbedded(db, statements, purpose, mode, now, id)
      : await openPostgres(db, statements, purpose, mode, now);
  } catch (error) {
    await fail(deps, id, 'the snapshot could not be opened').catch(() => {});
    throw error;
  }

  const decider = new RowDecider(purpose, mode, now, fields, masker);
  const encoder = createEncoder(format, fields);
  const hash = createHash('sha256');
  let rows = 0;
  let bytes = 0;
  /** The extract has been marked COMPLETE or FAILED. */
  let settled = false;

  const manifest = (exclusions: Exclusions, status: ExtractManifest['status'], completedAt: Date): ExtractManifest => {
    const byReason = { ...exclusions.byReason };
    for (const [reason, n] of decider.withheld) byReason[reason] = (byReason[reason] ?? 0) + n;
    return {
      id,
      status,
      client: client.name,
      purpose: { key: purpose.key, version: purpose.version },
      policyVersion: POLICY_VERSION,
      mode,
      format,
      columns: columnsOf(fields),
      fields: fields.map((f, i) => ({ ...fieldDecision(purpose, f), maskedRows: decider.maskedRows[i] })),
      consentSnapshotAt: source.snapshotAt.toISOString(),
      decidedAt: now.toISOString(),
      rows,
      subjects: decider.subjects,
      excluded: {
        total: exclusions.total + sum(decider.withheld.values()),
        byReason: sortKeys(byReason),
        withheldAfterSql: sum(decider.withheld.values()),
      },
      sha256: status === 'COMPLETE' ? hash.digest('hex') : null,
      bytes,
      createdAt: created.createdAt.toISOString(),
      completedAt: completedAt.toISOString(),
    };
  };

  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    deps.onEnd?.();
  };

  const emit = (controller: ReadableStreamDefaultController<Uint8Array>, chunks: Uint8Array[]) => {
    for (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      controller.enqueue(chunk);
    }
  };

  const complete = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
    const tail = encoder.finish();
    await source.close(true);
    const exclusions = await source.lineage;
    if (decider.withheldIds.length > 0) {
      await db.pool.query('DELETE FROM extract_member WHERE extract_id = $1::bigint AND customer_id = ANY($2::uuid[])', [
        id,
        decider.withheldIds,
      ]);
    }
    for (const chunk of tail) {
      hash.update(chunk);
      bytes += chunk.byteLength;
    }
    // Withdrawals committed while the extract ran are told, with its id, before it counts as
    // complete: one whose holders could not be told fails instead (and abort tries again).
    await lateNotices(deps, id, purpose.key, source.outboxMark);
    const completedAt = new Date();
    await db.prisma.extract.update({
      where: { id: BigInt(id) },
      data: {
        status: 'COMPLETE',
        manifest: manifest(exclusions, 'COMPLETE', completedAt) as never,
        snapshotAt: source.snapshotAt,
        completedAt,
      },
    });
    settled = true;
    for (const chunk of tail) controller.enqueue(chunk);
    controller.close();
    end();
  };

  const abort = async (reason: string) => {
    if (settled) return;
    settled = true;
    await source.close(false).catch(() => {});
    // The lineage may have committed before the failure: a partial extract still names its subjects.
    const exclusions = await source.lineage.catch(() => null);
    const completedAt = new Date();
    await db.prisma.extract
      .update({
        where: { id: BigInt(id) },
        data: {
          status: 'FAILED',
          manifest: { ...(exclusions ? manifest(exclusions, 'FAILED', completedAt) : {}), failure: reason } as never,
          snapshotAt: source.snapshotAt,
          completedAt,
        },
      })
      .catch(() => {});
    // A failure here must not keep the extract's slot (the caller's end() follows).
    if (exclusions) {
      await lateNotices(deps, id, purpose.key, source.outboxMark).catch((err: unknown) =>
        deps.logger.error({ extract: id, err }, 'extract failed, and its lineage notices failed too'),
      );
    }
    deps.logger.warn({ extract: id, purpose: purpose.key, rows, reason }, 'extract did not complete');
  };

  // One FETCH ahead: the database reads the next batch while this one is decided and sent.
  let ahead: Promise<SourceRow[]> | null = null;
  let fetches = 0;
  const fetchAhead = () => {
    ahead = source.fetch(fetches++ === 0 ? FIRST_FETCH_ROWS : FETCH_ROWS);
    // Awaited by the next pull; a failure after the extract has ended is of no consequence.
    ahead.catch(() => {});
  };

  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          // A batch the policy withholds whole yields nothing: read on until something is sent.
          for (;;) {
            if (!ahead) fetchAhead();
            const batch = await ahead!;
            ahead = null;
            if (batch.length === 0) return await complete(controller);
            fetchAhead();
            const out: unknown[][] = [];
            for (const row of batch) {
              const decided = decider.decide(row);
              if (decided) out.push(decided);
            }
            rows += out.length;
            const chunks = encoder.encode(out);
            if (chunks.length > 0) return emit(controller, chunks);
          }
        } catch (error) {
          // Logged through the process's error serializer (describeError): never a driver message that quotes values.
          if (settled) deps.logger.error({ extract: id, err: error }, 'extract completed, but its response could not be ended');
          await abort(`read failed (${(error as { code?: string }).code ?? (error as Error).name})`);
          end();
          // The stream's error reaches the HTTP layer, which may print its message: a generic one.
          controller.error(new Error(`extract ${id} failed`));
        }
      },
      async cancel() {
        await abort('the client closed the connection');
        end();
      },
    },
    { highWaterMark: 1 },
  );

  return { id, contentType: encoder.contentType, filename: `extract-${id}.${encoder.extension}`, body };
}

async function lateNotices(deps: ExtractDeps, id: string, purposeKey: string, outboxMark: string): Promise<void> {
  const sent = await sendLateNotices(deps.db, deps.masker, id, purposeKey, outboxMark);
  if (sent > 0) deps.logger.info({ extract: id, notices: sent }, 'withdrawals committed during the extract notified with its id');
}

async function fail(deps: ExtractDeps, id: string, reason: string): Promise<void> {
  await deps.db.prisma.extract.update({
    where: { id: BigInt(id) },
    data: { status: 'FAILED', manifest: { id, status: 'FAILED', failure: reason }, completedAt: new Date() },
  });
}

/** The customers left out, counted by the policy's reason (see exclusionsStatement). */
async function countExclusions(
  query: (
    s: Statement,
  ) => Promise<{ rows: { country: string | null; region: string | null; minor: boolean; states: string | null; n: number }[] }>,
  statement: Statement,
  purpose: PurposeDefinition,
  mode: DeploymentMode,
  now: Date,
): Promise<Exclusions> {
  const { rows } = await query(statement);
  const byReason: Record<string, number> = {};
  let total = 0;
  for (const group of rows) {
    const reason = exclusionReason(purpose, group, mode, now);
    byReason[reason] = (byReason[reason] ?? 0) + group.n;
    total += group.n;
  }
  return { total, byReason };
}

const pglite = new WeakMap<Database, Promise<boolean>>();

/**
 * Whether the database is PGlite: in process (`db.embedded`), or served over a
 * socket by another process (the tests'), where a second connection cannot
 * start while the first holds a transaction, so the one-connection path is taken.
 */
function isPglite(db: Database): Promise<boolean> {
  let found = pglite.get(db);
  if (!found) {
    found = db.embedded
      ? Promise.resolve(true)
      : db.pool.query<{ v: string }>('SELECT version() AS v').then(({ rows }) => /\bPGlite\b/.test(rows[0].v));
    pglite.set(db, found);
  }
  return found;
}

/**
 * JIT compilation of the purpose's filter (one branch per regime) costs more than
 * half a second before the first row, and the scan it would speed up streams anyway.
 */
const NO_JIT = 'SET LOCAL jit = off';

const SNAPSHOT = `SELECT clock_timestamp() AS at, (SELECT coalesce(max(id), 0) FROM outbox_event)::text AS mark`;

async function openPostgres(db: Database, s: Statements, purpose: PurposeDefinition, mode: DeploymentMode, now: Date): Promise<RowSource> {
  const options = (db.pool as unknown as { options: pg.ClientConfig }).options;
  // Connections of their own: an extract holds them for its whole length, which the pool's statement timeout would cut.
  const connect = async () => {
    const client = new pg.Client({ ...options, statement_timeout: undefined, idle_in_transaction_session_timeout: IDLE_TIMEOUT_MS });
    await client.connect();
    return client;
  };
  const reader = await connect();
  let writer: pg.Client | null = null;
  try {
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await reader.query(NO_JIT);
    const { rows } = await reader.query<{ at: Date; mark: string; snapshot: string }>(`${SNAPSHOT}, pg_export_snapshot() AS snapshot`);
    const { at, mark, snapshot } = rows[0];
    writer = await connect();
    await writer.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await writer.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`);
    await writer.query(NO_JIT);
    await reader.query(`DECLARE extract_rows NO SCROLL CURSOR FOR ${s.rows.text}`, s.rows.values);
    const w = writer;
    const lineage = (async () => {
      try {
        const exclusions = await countExclusions((q) => w.query(q.text, q.values), s.exclusions, purpose, mode, now);
        await w.query(s.members.text, s.members.values);
        await w.query('COMMIT');
        return exclusions;
      } catch (error) {
        await w.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        await w.end().catch(() => {});
      }
    })();
    // Observed here; awaited (and its failure reported) when the extract ends.
    lineage.catch(() => {});
    // Once: a failure after completing (its late notices) closes again, and a pg client ended twice never says so.
    let closed = false;
    return {
      snapshotAt: at,
      outboxMark: mark,
      lineage,
      fetch: async (n) => (await reader.query<SourceRow>({ text: `FETCH ${n} FROM extract_rows`, rowMode: 'array' })).rows,
      async close(ok) {
        if (closed) return;
        closed = true;
        try {
          await reader.query(ok ? 'COMMIT' : 'ROLLBACK');
        } finally {
          await reader.end().catch(() => {});
        }
      },
    };
  } catch (error) {
    await reader.end().catch(() => {});
    await writer?.end().catch(() => {});
    throw error;
  }
}

async function openEmbedded(
  db: Database,
  s: Statements,
  purpose: PurposeDefinition,
  mode: DeploymentMode,
  now: Date,
  id: string,
): Promise<RowSource> {
  const cursor = `extract_rows_${id}`;
  const client = await db.pool.connect();
  let opened: { at: Date; mark: string; exclusions: Exclusions };
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const { rows } = await client.query<{ at: Date; mark: string }>(SNAPSHOT);
    const exclusions = await countExclusions((q) => client.query(q.text, q.values), s.exclusions, purpose, mode, now);
    await client.query(s.members.text, s.members.values);
    await client.query(`DECLARE ${cursor} NO SCROLL CURSOR WITH HOLD FOR ${s.rows.text}`, s.rows.values);
    await client.query('COMMIT');
    opened = { ...rows[0], exclusions };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  let closed = false;
  return {
    snapshotAt: opened.at,
    outboxMark: opened.mark,
    lineage: Promise.resolve(opened.exclusions),
    fetch: async (n) => (await db.pool.query<SourceRow>({ text: `FETCH ${n} FROM ${cursor}`, rowMode: 'array' })).rows,
    async close() {
      if (closed) return;
      closed = true;
      await db.pool.query(`CLOSE ${cursor}`);
    },
  };
}

const sum = (values: Iterable<number>) => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};

const sortKeys = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
