import { isIP } from 'node:net';
import { z } from 'zod';
import { ConsentQLError } from '../../errors.ts';
import { findPurpose, PURPOSES, PURPOSE_KEYS, takesConsent } from '../../policy/taxonomy.ts';
import { hashIp, trimUserAgent } from '../proof.ts';
import type { ConsentAction, ConsentSource } from '../types.ts';
import { validateChoice } from '../validate.ts';
import type { RawLine } from './lines.ts';

// One line of an import: a consent event captured elsewhere. Everything that
// can be checked without the database is checked here, with the same rules as
// a consent request (src/consent/validate.ts) where they apply, so that a
// batch sent to the database holds only lines that can be recorded.

/** A line that passed every check that needs no database. */
export interface ImportLine {
  line: number;
  eventId: string;
  subject: { id: string | null; externalId: string | null };
  purposeKey: string;
  purposeVersion: number;
  action: ConsentAction;
  source: ConsentSource;
  sensitive: boolean;
  noticeVersion: string | null;
  recordedAt: Date;
  expiresAt: Date | null;
  ipHash: string | null;
  userAgent: string | null;
  proofReference: string | null;
}

export interface Rejection {
  line: number;
  /** The line's eventId, when it had a readable one. */
  eventId: string | null;
  code: string;
  message: string;
}

const ACTIONS = ['GRANT', 'WITHDRAW', 'OPT_OUT', 'OPT_IN'] as const;
/** Not GPC: that source is the signal this server receives itself (`Sec-GPC: 1`), as for a consent request. */
const SOURCES = ['CONSENT_CENTER', 'EMAIL_LINK', 'CRM', 'API', 'CHATBOT'] as const;
const CONSENTABLE = PURPOSES.filter((p) => takesConsent(p)).map((p) => p.key);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A date and time with its zone: a time without one would be read in whatever zone the server has. */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
export const MAX_EVENT_ID = 200;
const MAX_REFERENCE = 500;
const MAX_EXTERNAL_ID = 200;

/** What each field expects, for the messages of a rejected line. */
const EXPECTS: Record<string, string> = {
  eventId: `a string of 1 to ${MAX_EVENT_ID} characters, your system's id of the event (unique per client)`,
  subject: 'an object with exactly one of "id" (a customer UUID) or "externalId" (the CRM id)',
  'subject.id': 'a customer UUID',
  'subject.externalId': `the CRM id, a string of at most ${MAX_EXTERNAL_ID} characters`,
  purpose: `a purpose key that takes consent, one of: ${CONSENTABLE.join(', ')}`,
  purposeVersion: 'the version of the purpose the choice was made for, a positive integer (omit it for the current version)',
  action: `one of ${ACTIONS.join(', ')}`,
  recordedAt: 'the original time of the event, an ISO-8601 date and time with its zone such as "2025-03-01T12:00:00Z", not in the future',
  source: `the channel the choice was made through, one of ${SOURCES.join(', ')} (GPC is kept for the signal this server receives itself)`,
  noticeVersion: 'the version of the privacy notice the subject was shown, a string of at most 100 characters, or null',
  sensitive: 'true (the choice covers special-category data) or false',
  expiresAt: 'an ISO-8601 date and time at which a grant or opt-in lapses, or null',
  proof: 'an object with "reference" (your reference to the proof of consent), and optionally "ipAddress" and "userAgent"',
  'proof.reference': `your reference to the proof of consent, a string of 1 to ${MAX_REFERENCE} characters`,
  'proof.ipAddress': 'the IPv4 or IPv6 address the choice came from (stored as a keyed hash), or null',
  'proof.userAgent': 'the user agent the choice came from, or null',
};

const optionalString = z.string().nullable().optional();

const LINE = z.strictObject({
  eventId: z.string().trim().min(1).max(MAX_EVENT_ID),
  subject: z.strictObject({ id: optionalString, externalId: z.string().max(MAX_EXTERNAL_ID).nullable().optional() }),
  purpose: z.string(),
  purposeVersion: z.number().int().positive().optional(),
  action: z.enum(ACTIONS),
  recordedAt: z.string(),
  source: z.enum(SOURCES),
  noticeVersion: optionalString,
  sensitive: z.boolean().optional(),
  expiresAt: optionalString,
  proof: z
    .strictObject({
      reference: z.string().trim().min(1).max(MAX_REFERENCE).nullable().optional(),
      ipAddress: optionalString,
      userAgent: optionalString,
    })
    .nullable()
    .optional(),
});

type LineInput = z.infer<typeof LINE>;

export class LineError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The line as an event to record, or its rejection. `now` bounds recordedAt. */
export function parseLine(raw: RawLine, now: Date, proofKey: string): ImportLine | Rejection {
  let eventId: string | null = null;
  try {
    if ('tooLong' in raw) {
      throw new LineError(
        'LINE_TOO_LONG',
        `A line may hold at most the bytes of one event, but this one has ${raw.tooLong.toLocaleString('en-US')} bytes. Send one event per line.`,
      );
    }
    if ('undecodable' in raw) throw new LineError('BAD_USER_INPUT', 'The line is not valid UTF-8. Send the import as UTF-8 text.');
    let value: unknown;
    try {
      value = JSON.parse(raw.text);
    } catch (error) {
      throw new LineError('INVALID_JSON', `The line is not valid JSON (${(error as Error).message}). Send one JSON object per line.`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new LineError('INVALID_JSON', `A line expects one JSON object (an event), but got ${kindOf(value)}.`);
    }
    const candidate = (value as { eventId?: unknown }).eventId;
    if (typeof candidate === 'string' && candidate.trim() !== '' && candidate.length <= MAX_EVENT_ID) eventId = candidate.trim();
    const parsed = LINE.safeParse(value);
    if (!parsed.success) throw new LineError('BAD_USER_INPUT', describeIssue(parsed.error.issues[0], value));
    return { line: raw.number, ...checked(parsed.data, now, proofKey) };
  } catch (error) {
    if (error instanceof LineError || error instanceof ConsentQLError) {
      const code = error instanceof LineError ? error.code : String(error.extensions.code);
      return { line: raw.number, eventId, code, message: error.message };
    }
    throw error;
  }
}

/** The rules across fields, and the values as the ledger stores them. */
function checked(input: LineInput, now: Date, proofKey: string): Omit<ImportLine, 'line'> {
  const subject = { id: input.subject.id?.trim() || null, externalId: input.subject.externalId?.trim() || null };
  if ((subject.id === null) === (subject.externalId === null)) {
    throw new LineError('BAD_USER_INPUT', `subject expects ${EXPECTS.subject}, but got ${shown(input.subject)}.`);
  }
  if (subject.id !== null && !UUID.test(subject.id)) {
    throw new LineError('BAD_USER_INPUT', `subject.id expects a customer UUID, but got ${shown(subject.id)}.`);
  }
  const purpose = findPurpose(input.purpose);
  if (!purpose) {
    throw new LineError(
      'UNKNOWN_PURPOSE',
      `purpose "${input.purpose}" is not a purpose of the taxonomy; expected one of: ${PURPOSE_KEYS.join(', ')}.`,
    );
  }
  if (!takesConsent(purpose)) {
    throw new LineError(
      'BAD_USER_INPUT',
      `The purpose "${purpose.key}" takes no consent: its lawful basis is the contract in every regime. Leave such events out; consent ` +
        `can be recorded for: ${CONSENTABLE.join(', ')}.`,
    );
  }
  const purposeVersion = input.purposeVersion ?? purpose.version;
  if (purposeVersion > purpose.version) {
    throw new LineError(
      'BAD_USER_INPUT',
      `purposeVersion ${purposeVersion} is newer than the purpose "${purpose.key}" (version ${purpose.version}). Send the version the ` +
        'subject chose for, or omit it for the current version.',
    );
  }
  const recordedAt = instant(input.recordedAt, 'recordedAt');
  if (recordedAt.getTime() > now.getTime()) {
    throw new LineError(
      'BAD_USER_INPUT',
      `recordedAt expects the original time of the event, not in the future, but got ${recordedAt.toISOString()} (now is ${now.toISOString()}).`,
    );
  }
  const noticeVersion = input.noticeVersion?.trim() || null;
  // The request rules: a notice version for a grant, and its length.
  validateChoice({ action: input.action, source: input.source, noticeVersion }, now);
  const expiresAt = input.expiresAt == null || input.expiresAt.trim() === '' ? null : instant(input.expiresAt, 'expiresAt');
  const positive = input.action === 'GRANT' || input.action === 'OPT_IN';
  if (expiresAt && !positive) {
    throw new LineError('BAD_USER_INPUT', `expiresAt applies to a grant or opt-in, but was given with ${input.action}. Remove expiresAt.`);
  }
  // An expiry already past is history like any other: the state then says the consent expired.
  if (expiresAt && !(expiresAt.getTime() > recordedAt.getTime())) {
    throw new LineError(
      'BAD_USER_INPUT',
      `expiresAt expects a time after recordedAt (${recordedAt.toISOString()}), but got ${expiresAt.toISOString()}.`,
    );
  }
  const proofReference = input.proof?.reference ?? null;
  // A grant must be demonstrable (GDPR Art. 7(1)): the request that imports it is not its evidence.
  if (positive && proofReference === null) {
    throw new LineError(
      'BAD_USER_INPUT',
      `A ${input.action} needs proof.reference, your reference to the evidence of consent (a form submission, a recording id), but none was given.`,
    );
  }
  const ipAddress = input.proof?.ipAddress?.trim() || null;
  if (ipAddress !== null && !isIP(ipAddress)) {
    throw new LineError('BAD_USER_INPUT', `proof.ipAddress expects ${EXPECTS['proof.ipAddress']}, but got ${shown(ipAddress)}.`);
  }
  return {
    eventId: input.eventId,
    subject,
    purposeKey: purpose.key,
    purposeVersion,
    action: input.action,
    source: input.source,
    sensitive: input.sensitive ?? false,
    noticeVersion,
    recordedAt,
    expiresAt,
    ipHash: hashIp(ipAddress, proofKey),
    userAgent: trimUserAgent(input.proof?.userAgent),
    proofReference,
  };
}

function instant(value: string, field: 'recordedAt' | 'expiresAt'): Date {
  const text = value.trim();
  const match = ISO_INSTANT.exec(text);
  const date = new Date(text);
  if (!match || Number.isNaN(date.getTime()) || !isCalendarDate(match) || date.getTime() < 0) {
    throw new LineError('BAD_USER_INPUT', `${field} expects ${EXPECTS[field]}, but got ${shown(value)}.`);
  }
  return date;
}

/** Date rolls 2025-02-31 over to March 3rd; a recorded time must not. */
function isCalendarDate([, y, m, d]: RegExpExecArray): boolean {
  const day = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return day.getUTCFullYear() === Number(y) && day.getUTCMonth() === Number(m) - 1 && day.getUTCDate() === Number(d);
}

/** The first problem zod found, said in the API's words: the field, what it expects, what it got. */
function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = path ? `${path} has` : 'The line has';
    const known =
      path === 'subject' ? 'id, externalId' : path === 'proof' ? 'reference, ipAddress, userAgent' : Object.keys(LINE.shape).join(', ');
    return `${where} unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; expected only: ${known}.`;
  }
  const received = issue.path.reduce<unknown>(
    (v, key) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined),
    value,
  );
  const expects = EXPECTS[path] ?? issue.message;
  if (received === undefined) return `${path} is required: it expects ${expects}.`;
  return `${path} expects ${expects}, but got ${shown(received)}.`;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
