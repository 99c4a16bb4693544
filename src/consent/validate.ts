import { ConsentQLError } from '../errors.ts';
import { findPurpose, PURPOSES, PURPOSE_KEYS, takesConsent } from '../policy/taxonomy.ts';
import type { PurposeDefinition } from '../policy/types.ts';
import type { ConsentAction, ConsentSource } from './types.ts';

// Everything a consent request can get wrong is checked before the ledger
// transaction opens, so a refused request records nothing at all.

const CONSENTABLE = PURPOSES.filter((p) => takesConsent(p)).map((p) => p.key);
const MAX_KEY = 200;
const MAX_NOTICE = 100;

/** Known purposes that take consent, no duplicates, at least one (unless `allowEmpty`). */
export function validatePurposes(purposes: readonly string[], allowEmpty = false): PurposeDefinition[] {
  if (purposes.length === 0 && !allowEmpty) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `purposes expects at least one purpose key, but got an empty list. Consent can be recorded for: ${CONSENTABLE.join(', ')}.`,
      { argument: 'purposes' },
    );
  }
  const seen = new Set<string>();
  return purposes.map((key) => {
    const purpose = findPurpose(key);
    if (!purpose) {
      throw new ConsentQLError(
        'UNKNOWN_PURPOSE',
        `purposes contains "${key}", which is not a purpose of the taxonomy; expected one of: ${PURPOSE_KEYS.join(', ')}.`,
        { argument: 'purposes', received: key, validPurposes: PURPOSE_KEYS },
      );
    }
    if (!takesConsent(purpose)) {
      throw new ConsentQLError(
        'BAD_USER_INPUT',
        `The purpose "${key}" takes no consent: its lawful basis is the contract in every regime, so there is nothing to grant or withdraw. ` +
          `Remove it; consent can be recorded for: ${CONSENTABLE.join(', ')}.`,
        { argument: 'purposes', received: key, consentablePurposes: CONSENTABLE },
      );
    }
    if (seen.has(key)) {
      throw new ConsentQLError('BAD_USER_INPUT', `purposes lists "${key}" twice; list each purpose once.`, {
        argument: 'purposes',
        received: key,
      });
    }
    seen.add(key);
    return purpose;
  });
}

export interface ChoiceFields {
  action: ConsentAction;
  source: ConsentSource;
  noticeVersion?: string | null;
  expiresAt?: Date | null;
  idempotencyKey?: string | null;
}

export function validateChoice(input: ChoiceFields, now: Date): void {
  const positive = input.action === 'GRANT' || input.action === 'OPT_IN';
  if (input.source === 'GPC') {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      'source GPC is reserved for the Global Privacy Control signal: send the "Sec-GPC: 1" header instead, and name the channel ' +
        'the request came through (CONSENT_CENTER, EMAIL_LINK, CRM, API or CHATBOT).',
      { argument: 'source', received: 'GPC' },
    );
  }
  if (positive && !input.noticeVersion?.trim()) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `A ${input.action} needs noticeVersion, the version of the privacy notice the subject was shown (proof of informed consent), but none was given.`,
      { argument: 'noticeVersion' },
    );
  }
  if ((input.noticeVersion?.length ?? 0) > MAX_NOTICE) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `noticeVersion expects at most ${MAX_NOTICE} characters, but got ${input.noticeVersion!.length}.`,
      {
        argument: 'noticeVersion',
      },
    );
  }
  if (input.expiresAt != null) {
    if (!positive) {
      throw new ConsentQLError(
        'BAD_USER_INPUT',
        `expiresAt applies to a grant or opt-in, but was given with ${input.action}. Remove expiresAt.`,
        { argument: 'expiresAt' },
      );
    }
    if (Number.isNaN(input.expiresAt.getTime()) || !(input.expiresAt.getTime() > now.getTime())) {
      throw new ConsentQLError(
        'BAD_USER_INPUT',
        `expiresAt expects a future ISO-8601 date and time, but got ${describeDate(input.expiresAt)} (now is ${now.toISOString()}). ` +
          'Send a later expiry, or none for consent without an end date.',
        { argument: 'expiresAt' },
      );
    }
  }
  const key = input.idempotencyKey;
  if (key != null && (key.trim() === '' || key.length > MAX_KEY)) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `idempotencyKey expects 1 to ${MAX_KEY} characters (a UUID is a good choice), but got ${key.length} characters.`,
      { argument: 'idempotencyKey' },
    );
  }
}

function describeDate(date: Date): string {
  return Number.isNaN(date.getTime()) ? 'an invalid date' : date.toISOString();
}
