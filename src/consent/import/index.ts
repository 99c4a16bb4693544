import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import { sqlStateOf } from '../../errors.ts';
import { isPayloadTooLarge } from '../../http/body-limit.ts';
import { regimeOf } from '../../policy/regime.ts';
import type { DeploymentMode } from '../../policy/types.ts';
import { announceCommitted } from '../notify.ts';
import { importFingerprint } from './fingerprint.ts';
import { type ImportLine, parseLine, type Rejection } from './line.ts';
import { ndjsonLines } from './lines.ts';
import {
  type PreparedWrite,
  prepareWrite,
  repeatedMessage,
  repeats,
  type ResolvedLine,
  reusedMessage,
  type StoredKey,
  writeBatch,
} from './write.ts';

// Bulk import of consent events captured elsewhere (a CRM), from an NDJSON
// stream: read line by line, checked line by line, written in batches. Every
// line ends up recorded (event, state, outbox, idempotency key: one
// transaction) or rejected with its number, a code and a message; a line that
// the database refuses is found by splitting its batch, so it never takes the
// valid lines of its batch down with it.
//
// Memory is bounded by two batches: while one is written, the next is read,
// checked and prepared (subjects, parameters), and no more is read until that
// write is done. The database writes while this process parses.

export type { Rejection } from './line.ts';

/** The longest line read: an event is well under 2 KB. */
export const MAX_LINE_BYTES = 16 * 1024;
/** Rejected lines listed in a report (all are counted). */
export const MAX_REJECTIONS_LISTED = 1000;

export interface ImportOptions {
  /** The importing client: event ids are its idempotency keys. */
  clientId: string;
  mode: DeploymentMode;
  /** Hashes the IP addresses of the proofs (src/consent/proof.ts). */
  proofKey: string;
  /** Lines per transaction. */
  batchSize: number;
  logger?: Logger;
}

export interface ImportReport {
  /** Lines handled (blank lines are skipped and not counted): recorded + duplicates + rejected. */
  lines: number;
  /** Events recorded in the ledger. */
  recorded: number;
  /** Recorded events that became the current state of their scope and were sent downstream; the others were older than it. */
  propagated: number;
  /** Lines whose eventId this client had already imported with the same content: recorded once, before. */
  duplicates: number;
  rejected: number;
  /** The first MAX_REJECTIONS_LISTED rejected lines, in line order. */
  rejections: Rejection[];
  /** The last line number handled; nothing after it was. */
  lastLine: number;
  /** The whole body was read and every line handled. */
  complete: boolean;
  /** Why the import stopped before the end of the body. */
  error: { code: string; message: string } | null;
}

interface Batch {
  lines: ImportLine[];
  rejections: Rejection[];
  /** Lines read into this batch, rejected ones included. */
  count: number;
  lastLine: number;
}

const newBatch = (): Batch => ({ lines: [], rejections: [], count: 0, lastLine: 0 });

export async function importConsent(db: Database, body: AsyncIterable<Uint8Array>, options: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = {
    lines: 0,
    recorded: 0,
    propagated: 0,
    duplicates: 0,
    rejected: 0,
    rejections: [],
    lastLine: 0,
    complete: false,
    error: null,
  };
  let failure: unknown = null;
  let writing: Promise<void> = Promise.resolve();
  // A batch is prepared (subjects, parameters) while the one before is written, then written once that one committed.
  const submit = async (batch: Batch) => {
    if (failure !== null || batch.count === 0) return;
    let prepared: PreparedBatch;
    try {
      prepared = await prepareBatch(db, batch, options);
    } catch (error) {
      await writing;
      failure ??= error;
      return;
    }
    await writing;
    if (failure !== null) return;
    // Not awaited: the next batch is read and prepared meanwhile.
    writing = commitBatch(db, prepared, options, report).catch((error) => {
      failure = error;
    });
  };

  let batch = newBatch();
  let streamError: unknown = null;
  try {
    for await (const raw of ndjsonLines(body, MAX_LINE_BYTES)) {
      const parsed = parseLine(raw, new Date(), options.proofKey);
      if ('code' in parsed) batch.rejections.push(parsed);
      else batch.lines.push(parsed);
      batch.count++;
      batch.lastLine = raw.number;
      if (batch.count >= options.batchSize) {
        await submit(batch);
        batch = newBatch();
      }
      if (failure !== null) break;
    }
  } catch (error) {
    streamError = error;
  }
  // The complete lines read before the body failed are handled like any other.
  await submit(batch);
  await writing;

  if (failure !== null) {
    // Its code and kind only: a database error's message and detail may quote the values of a line.
    const { name } = failure as { name?: unknown };
    options.logger?.error(
      { sqlState: sqlStateOf(failure), error: name, lastLine: report.lastLine },
      'consent import stopped: the database failed',
    );
    report.error = {
      code: 'CONSENT_UNAVAILABLE',
      message:
        `The import stopped after line ${report.lastLine}: the database failed while writing the next lines. Lines up to ` +
        `${report.lastLine} are recorded or rejected as this report says, nothing after. Send the lines after it again ` +
        '(or the whole file: events already recorded are reported as duplicates).',
    };
  } else if (streamError !== null) {
    report.error = isPayloadTooLarge(streamError)
      ? {
          code: 'PAYLOAD_TOO_LARGE',
          message:
            `The body is larger than the ${streamError.limit.toLocaleString('en-US')} bytes an import accepts (CONSENTQL_MAX_IMPORT_BYTES); ` +
            `it was read up to there. Lines up to ${report.lastLine} are recorded or rejected as this report says, nothing after. ` +
            'Send the rest as another import.',
        }
      : {
          code: 'BAD_USER_INPUT',
          message: `The body could not be read to its end; lines up to ${report.lastLine} are handled as this report says, nothing after. Send the rest again.`,
        };
  } else {
    report.complete = true;
  }
  return report;
}

interface PreparedBatch {
  batch: Batch;
  /** The first line of each event id, to write. */
  write: PreparedWrite;
  /** Lines whose event id an earlier line of the batch has: settled by what became of that one. */
  later: { line: ResolvedLine; first: ResolvedLine }[];
}

/** Everything of a batch that needs no lock: its subjects, its repeated event ids, the write's parameters. */
async function prepareBatch(db: Database, batch: Batch, options: ImportOptions): Promise<PreparedBatch> {
  const resolved = await resolveSubjects(db, batch.lines, options.mode, batch.rejections);
  const first = new Map<string, ResolvedLine>();
  const later: PreparedBatch['later'] = [];
  for (const line of resolved) {
    const earlier = first.get(line.eventId);
    if (earlier) later.push({ line, first: earlier });
    else first.set(line.eventId, line);
  }
  return { batch, write: prepareWrite(options.clientId, [...first.values()]), later };
}

/** What became of the first line of an event id. */
type Fate = { recorded: true } | { stored: StoredKey } | { rejected: Rejection };

/** Writes a prepared batch, then adds its outcome to the report (batches commit in line order). */
async function commitBatch(db: Database, prepared: PreparedBatch, options: ImportOptions, report: ImportReport): Promise<void> {
  const { batch } = prepared;
  const rejections = batch.rejections;
  const fates = new Map<ResolvedLine, Fate>();
  let recorded = 0;
  let propagated = 0;
  let duplicates = 0;
  const reject = (line: ResolvedLine, code: string, message: string) => {
    const rejection = { line: line.line, eventId: line.eventId, code, message };
    rejections.push(rejection);
    return rejection;
  };

  const write = async (prepared: PreparedWrite): Promise<void> => {
    if (prepared.lines.length === 0) return;
    try {
      const outcome = await writeBatch(db.pool, prepared);
      recorded += outcome.recorded.length;
      propagated += outcome.propagated;
      for (const line of outcome.recorded) fates.set(line, { recorded: true });
      for (const { line, stored } of outcome.existing) {
        fates.set(line, { stored });
        if (repeats(line, stored)) duplicates++;
        else reject(line, 'IDEMPOTENCY_KEY_REUSED', reusedMessage(line, stored));
      }
      if (outcome.lastOutboxId !== null) announceCommitted(db, outcome.lastOutboxId);
      if (outcome.recorded.length > 0) {
        db.signals.consentRecorded.emit(outcome.recorded.map(({ purposeKey, action, source }) => ({ purposeKey, action, source })));
      }
    } catch (error) {
      const sqlState = sqlStateOf(error);
      // A value or constraint the database refuses belongs to a line: find it, keep the others.
      if (sqlState === undefined || !/^2[23]/.test(sqlState)) throw error;
      if (prepared.lines.length === 1) {
        const line = prepared.lines[0];
        fates.set(line, {
          rejected: reject(line, ...refused(sqlState, (error as { constraint?: string }).constraint, line, options.logger)),
        });
        return;
      }
      const half = Math.ceil(prepared.lines.length / 2);
      await write(prepareWrite(options.clientId, prepared.lines.slice(0, half)));
      await write(prepareWrite(options.clientId, prepared.lines.slice(half)));
    }
  };
  await write(prepared.write);

  // A repeated event id within the batch: judged against its first line's fate, as a second import would be.
  for (const { line, first } of prepared.later) {
    const fate = fates.get(first);
    if (!fate) continue;
    if ('recorded' in fate) {
      if (first.fingerprint === line.fingerprint) duplicates++;
      else reject(line, 'IDEMPOTENCY_KEY_REUSED', repeatedMessage(line, first));
    } else if ('stored' in fate) {
      if (repeats(line, fate.stored)) duplicates++;
      else reject(line, 'IDEMPOTENCY_KEY_REUSED', reusedMessage(line, fate.stored));
    } else {
      reject(line, fate.rejected.code, `As line ${first.line} (the same eventId): ${fate.rejected.message}`);
    }
  }

  report.lines += batch.count;
  report.recorded += recorded;
  report.propagated += propagated;
  report.duplicates += duplicates;
  report.rejected += rejections.length;
  report.lastLine = batch.lastLine;
  rejections.sort((a, b) => a.line - b.line);
  report.rejections.push(...rejections.slice(0, MAX_REJECTIONS_LISTED - report.rejections.length));
}

interface SubjectRow {
  id: string;
  externalId: string;
  country: string | null;
  region: string | null;
}

const SUBJECTS = `
SELECT id::text, external_id AS "externalId", country, region
FROM customer
WHERE id = ANY($1::uuid[]) OR external_id = ANY($2::text[])`;

/** The lines whose subject exists, with its id, regime and the line's fingerprint; the others rejected. */
async function resolveSubjects(db: Database, lines: ImportLine[], mode: DeploymentMode, rejections: Rejection[]): Promise<ResolvedLine[]> {
  if (lines.length === 0) return [];
  const ids = [...new Set(lines.flatMap((l) => (l.subject.id ? [l.subject.id.toLowerCase()] : [])))];
  const externalIds = [...new Set(lines.flatMap((l) => (l.subject.externalId ? [l.subject.externalId] : [])))];
  const { rows } = await db.pool.query<SubjectRow>(SUBJECTS, [ids, externalIds]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const byExternalId = new Map(rows.map((r) => [r.externalId, r]));
  const resolved: ResolvedLine[] = [];
  for (const line of lines) {
    const subject = line.subject.id ? byId.get(line.subject.id.toLowerCase()) : byExternalId.get(line.subject.externalId!);
    if (!subject) {
      const given = line.subject.id ? `id ${line.subject.id}` : `externalId ${JSON.stringify(line.subject.externalId)}`;
      rejections.push({
        line: line.line,
        eventId: line.eventId,
        code: 'NOT_FOUND',
        message: `No customer with ${given}. Check the identifier; consent can only be recorded for a known subject (import the customer first).`,
      });
      continue;
    }
    const facts = { ...line, customerId: subject.id };
    resolved.push({
      ...facts,
      externalId: subject.externalId,
      // The subject's regime now, as for any consent recorded today: where they lived then is not known here.
      regime: regimeOf(subject.country, subject.region, mode),
      fingerprint: importFingerprint(facts),
    });
  }
  return resolved;
}

function refused(sqlState: string, constraint: string | undefined, line: ResolvedLine, logger: Logger | undefined): [string, string] {
  // The database's own message may quote the line's values: only its code and constraint are logged.
  logger?.warn({ sqlState, constraint, line: line.line }, 'consent import: the database refused a line');
  if (sqlState === '23503') {
    return ['NOT_FOUND', 'The customer of this line no longer exists (erased while the import ran). Nothing was recorded for this line.'];
  }
  return [
    'REJECTED_BY_DATABASE',
    `The database refused this event (SQLSTATE ${sqlState}${constraint ? `, constraint ${constraint}` : ''}). Nothing was recorded for this line; check its values.`,
  ];
}
