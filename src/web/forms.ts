import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import { recordConsent } from '../consent/ledger.ts';
import { hashIp, trimUserAgent } from '../consent/proof.ts';
import { validateChoice, validatePurposes } from '../consent/validate.ts';
import { limitBody } from '../http/body-limit.ts';
import { clientAddressOf } from '../http/trusted-proxies.ts';
import type { HmacKeyring } from '../masking/types.ts';
import { regimeOf } from '../policy/regime.ts';
import type { ConsentAction, DeploymentMode, PurposeDefinition } from '../policy/types.ts';
import { centerState, noticeVersionOf, sensitiveLimitPurposes, withdrawAllPlan } from './center.ts';
import { CATALOGS, localeOf } from './i18n/index.ts';
import { verifyFormToken, verifyLinkToken } from './links.ts';
import { CONSENT_CENTER_PATH } from './page.ts';
import type { Speech } from './view.ts';

// The consent center's forms: one choice for one purpose, "withdraw
// everything", and the Californian's limit on sensitive data. Each POST is
// checked (same origin, the signed link, the signed form token: the CSRF
// defence) before anything is read, and records through the consent ledger
// with source CONSENT_CENTER, keyed by the form so a double submit records once.

/** Idempotency keys are scoped per client; this page is a client of the ledger of its own. */
export const LEDGER_CLIENT = 'consent-center-page';
/** A form holds a link token, a form token, a purpose, an action and a language: well under 1 KB. */
export const MAX_FORM_BYTES = 4096;
const ACTIONS: readonly ConsentAction[] = ['GRANT', 'WITHDRAW', 'OPT_OUT', 'OPT_IN'];

export interface FormDeps {
  db: Database;
  keyring: HmacKeyring;
  mode: DeploymentMode;
  proofKey: string;
}

export type Outcome = { kind: 'refused'; page: 'invalidLink' | 'formRefused' } | { kind: 'done'; location: string };

/** The subject a form was signed for, with what deciding their choices needs; null once erased. */
export function subjectOf(db: Database, customerId: string) {
  return db.prisma.customer.findUnique({
    where: { id: customerId },
    select: { id: true, firstName: true, lastName: true, country: true, region: true, birthDate: true, preferredLanguage: true },
  });
}

/**
 * A POST of one of the page's forms: the signed link and form token checked,
 * then the choice recorded through the ledger; where the browser goes next
 * (back to the page, saying what was saved), or why nothing was recorded.
 */
export async function recordChoice(
  deps: FormDeps,
  req: Request,
  url: URL,
  server: object,
  fetchAPI: Parameters<typeof limitBody>[2],
): Promise<Outcome> {
  const { db, keyring, mode, proofKey } = deps;
  if (!sameOrigin(req, url)) return { kind: 'refused', page: 'formRefused' };
  const form = await readForm(req, fetchAPI);
  if (!form) return { kind: 'refused', page: 'formRefused' };
  const token = form.get('token');
  const link = verifyLinkToken(keyring, token, new Date());
  if (!link.valid) return { kind: 'refused', page: 'invalidLink' };
  const formNonce = verifyFormToken(keyring, link.customerId, form.get('form'));
  if (!formNonce) return { kind: 'refused', page: 'formRefused' };
  const back = new URL(CONSENT_CENTER_PATH, url);
  back.searchParams.set('token', token!);
  const lang = localeOf(form.get('lang'));
  if (lang) back.searchParams.set('lang', lang);
  const record = (purposes: readonly PurposeDefinition[], action: ConsentAction, sensitive: boolean, key: string) => {
    const noticeVersion = noticeVersionOf(purposes[0].version);
    validateChoice({ action, source: 'CONSENT_CENTER', noticeVersion, idempotencyKey: key }, new Date());
    return recordConsent(db, {
      subject: { id: link.customerId },
      purposes: purposes.map((p) => p.key),
      action,
      source: 'CONSENT_CENTER',
      sensitive,
      noticeVersion,
      expiresAt: null,
      ...proof(req, server, proofKey),
      idempotencyKey: key,
      clientId: LEDGER_CLIENT,
      gpcSignal: req.headers.get('sec-gpc')?.trim() === '1',
      mode,
    });
  };
  try {
    const intent = form.get('intent');
    if (intent === 'withdraw-all') {
      const done = await withdrawAll(deps, link.customerId, formNonce, record);
      if (done === null) return { kind: 'refused', page: 'invalidLink' };
      back.searchParams.set('saved', 'withdraw-all');
      back.searchParams.set('done', done.join(','));
    } else if (intent === 'limit-sensitive' || intent === 'allow-sensitive') {
      const subject = await subjectOf(db, link.customerId);
      if (!subject) return { kind: 'refused', page: 'invalidLink' };
      const purposes = sensitiveLimitPurposes(regimeOf(subject.country, subject.region, mode));
      // Shown only to those it applies to; a form for anyone else was not ours.
      if (purposes.length === 0) return { kind: 'refused', page: 'formRefused' };
      const action: ConsentAction = intent === 'limit-sensitive' ? 'OPT_OUT' : 'OPT_IN';
      for (const group of byVersion(purposes)) await record(group, action, true, `${formNonce}:${action}:${group[0].version}`);
      back.searchParams.set('saved', intent);
    } else if (intent === null) {
      const action = form.get('action') as ConsentAction;
      if (!ACTIONS.includes(action)) return { kind: 'refused', page: 'formRefused' };
      const [purpose] = validatePurposes([form.get('purpose') ?? '']);
      await record([purpose], action, false, formNonce);
      back.searchParams.set('saved', purpose.key);
    } else {
      return { kind: 'refused', page: 'formRefused' };
    }
  } catch (error) {
    if (!(error instanceof ConsentQLError)) throw error;
    const code = error.extensions.code;
    if (code === 'IDEMPOTENCY_KEY_REUSED') back.searchParams.set('notice', 'stale');
    else if (code === 'NOT_FOUND') return { kind: 'refused', page: 'invalidLink' };
    else return { kind: 'refused', page: 'formRefused' };
  }
  return { kind: 'done', location: back.pathname + back.search };
}

/**
 * Everything the subject can withdraw, in one step: each purpose now on
 * gets the action its regime requires, one ledger request per action
 * (and purpose version), each keyed by the form so a double submit records once.
 */
async function withdrawAll(
  { db, keyring, mode }: FormDeps,
  customerId: string,
  formNonce: string,
  record: (purposes: readonly PurposeDefinition[], action: ConsentAction, sensitive: boolean, key: string) => Promise<unknown>,
): Promise<string[] | null> {
  const subject = await subjectOf(db, customerId);
  if (!subject) return null;
  const speech: Speech = { locale: 'en', t: CATALOGS.en };
  const plan = withdrawAllPlan(await centerState(db, keyring, mode, speech, subject));
  const done: string[] = [];
  for (const [action, purposes] of plan) {
    for (const group of byVersion(purposes)) {
      await record(group, action, false, `${formNonce}:${action}:${group[0].version}`);
      done.push(...group.map((p) => p.key));
    }
  }
  return done;
}

/** Purposes grouped by version: one ledger request records one notice version. */
function byVersion(purposes: readonly PurposeDefinition[]): PurposeDefinition[][] {
  const groups = new Map<number, PurposeDefinition[]>();
  for (const p of purposes) groups.set(p.version, [...(groups.get(p.version) ?? []), p]);
  return [...groups.values()];
}

/**
 * Hashed IP (through the ledger's proof helper) and user agent of the person
 * who clicked: the address decided for this request from the socket peer, and
 * X-Forwarded-For only from a trusted proxy (src/http/trusted-proxies.ts).
 */
export function proof(request: Request, server: object, key: string): { ipHash: string | null; userAgent: string | null } {
  return { ipHash: hashIp(clientAddressOf(server), key), userAgent: trimUserAgent(request.headers.get('user-agent')) };
}

/**
 * Defence in depth on top of the signed form token: browsers say where a POST
 * comes from (Sec-Fetch-Site), and a cross-site one is refused. Our
 * `Referrer-Policy: no-referrer` makes browsers send `Origin: null` on the
 * page's own forms, so a null origin alone proves nothing; a named foreign
 * one is refused. Requests without either header rely on the form token.
 */
function sameOrigin(request: Request, url: URL): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site) return site === 'same-origin' || site === 'none';
  const origin = request.headers.get('origin');
  if (!origin || origin === 'null') return true;
  try {
    return new URL(origin).host === url.host;
  } catch {
    return false;
  }
}

/** The form, read up to MAX_FORM_BYTES while it streams in; more throws a PayloadTooLargeError (413). */
async function readForm(request: Request, fetchAPI: Parameters<typeof limitBody>[2]): Promise<URLSearchParams | null> {
  if (!request.headers.get('content-type')?.startsWith('application/x-www-form-urlencoded')) return null;
  return new URLSearchParams(await limitBody(request, MAX_FORM_BYTES, fetchAPI).text());
}
