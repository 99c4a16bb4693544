import { randomBytes } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import { consentHistory, consentStatus } from '../consent/history.ts';
import { gpcSignalRequest, recordConsent } from '../consent/ledger.ts';
import { hashIp, trimUserAgent } from '../consent/proof.ts';
import { isPayloadTooLarge, limitBody, payloadTooLargeResponse } from '../http/body-limit.ts';
import { clientAddressOf } from '../http/trusted-proxies.ts';
import { validateChoice, validatePurposes } from '../consent/validate.ts';
import type { HmacKeyring } from '../masking/types.ts';
import { isMinor, regimeOf } from '../policy/regime.ts';
import { PURPOSES, findPurpose, takesConsent } from '../policy/taxonomy.ts';
import { GPC_OPT_OUT_PURPOSES } from '../policy/universal-opt-out.ts';
import type { ConsentAction, DeploymentMode } from '../policy/types.ts';
import { createFormToken, DEFAULT_LINK_DAYS, verifyFormToken, verifyLinkToken } from './links.ts';
import { CONSENT_CENTER_PATH, renderCenterPage, renderMessagePage, type MessagePage, type Notice } from './page.ts';
import { CONTRACT_BASIS, describeChoice, formatDate, historyRow, regimeNote } from './view.ts';

// GET and POST /consent-center: a data subject, signed in by the link we
// emailed them, sees and changes their choices. Every change goes through the
// consent ledger (one transaction: event, state, outbox), with source
// CONSENT_CENTER, the notice version shown, and proof of who clicked.

export interface ConsentCenterOptions {
  db: Database;
  keyring: HmacKeyring;
  logger: Logger;
  mode: DeploymentMode;
  /** Hashes the clicking person's IP address in the proof of consent. */
  proofKey: string;
}

/** Idempotency keys are scoped per client; this page is a client of the ledger of its own. */
const LEDGER_CLIENT = 'consent-center-page';
const HISTORY_SHOWN = 12;
/** A form holds a link token, a form token, a purpose and an action: well under 1 KB. */
const MAX_FORM_BYTES = 4096;
const ACTIONS: readonly ConsentAction[] = ['GRANT', 'WITHDRAW', 'OPT_OUT', 'OPT_IN'];

/** The notice a subject is shown for a purpose: its text is versioned with the purpose. */
export const noticeVersionOf = (purposeVersion: number): string => `notice-v${purposeVersion}`;

const INVALID_LINK: MessagePage = {
  title: 'This link is invalid or has expired',
  paragraphs: [
    `Links to your privacy choices are personal and stop working after ${DEFAULT_LINK_DAYS} days, to keep them safe. ` +
      'The link you used has expired, was changed on the way, or was never valid.',
    'To manage your choices, open the "Privacy choices" link in a recent email from us, or ask our customer support for a new link.',
  ],
};

const FORM_REFUSED: MessagePage = {
  title: 'Your choice was not saved',
  paragraphs: [
    'We could not confirm that this request came from your privacy choices page, so nothing was changed. ' +
      'This protects you from other websites changing your choices without your knowledge.',
    'Open the link from your email again and make your choice on that page.',
  ],
};

const FAILED: MessagePage = {
  title: 'Something went wrong',
  paragraphs: ['Nothing was changed. Please try again in a few minutes, using the link from your email.'],
};

export function useConsentCenter({ db, keyring, logger, mode, proofKey }: ConsentCenterOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse, serverContext, fetchAPI }) {
      if (url.pathname !== CONSENT_CENTER_PATH) return;
      const nonce = randomBytes(16).toString('base64');
      const respond = (status: number, body: string, extra: Record<string, string> = {}) =>
        endResponse(
          new fetchAPI.Response(request.method === 'HEAD' ? null : body, { status, headers: { ...securityHeaders(nonce), ...extra } }),
        );
      const message = (status: number, page: MessagePage) => respond(status, renderMessagePage(page, nonce));

      try {
        if (request.method === 'GET' || request.method === 'HEAD') {
          const link = verifyLinkToken(keyring, url.searchParams.get('token'), new Date());
          if (!link.valid) return message(403, INVALID_LINK);
          const page = await showPage(link.customerId, link.expiresAt);
          return page ? respond(200, page) : message(403, INVALID_LINK);
        }
        if (request.method === 'POST') {
          const outcome = await recordChoice(request, serverContext);
          if (outcome.kind === 'refused') return message(403, outcome.page);
          return respond(303, '', { location: outcome.location });
        }
        return respond(405, '', { allow: 'GET, HEAD, POST' });
      } catch (error) {
        // A form larger than any of ours, refused while it streamed in: the rest was never read.
        if (isPayloadTooLarge(error)) return endResponse(payloadTooLargeResponse(fetchAPI, MAX_FORM_BYTES));
        // Described, not dumped: database errors quote the values they failed on.
        logger.error({ err: error }, 'consent center request failed');
        return message(500, FAILED);
      }

      async function showPage(customerId: string, linkExpiresAt: Date): Promise<string | null> {
        const subject = await db.prisma.customer.findUnique({
          where: { id: customerId },
          select: { id: true, externalId: true, firstName: true, lastName: true, country: true, region: true, birthDate: true },
        });
        // An erased subject's link shows no more than a forged one.
        if (!subject) return null;
        const notices: Notice[] = [];
        if (request.headers.get('sec-gpc')?.trim() === '1') {
          const gpc = await honourGpc(subject, request, serverContext);
          if (gpc) notices.push(gpc);
        }
        const now = new Date();
        const [statuses, events] = [await consentStatus(db.prisma, subject, mode, now), await consentHistory(db.prisma, subject.id)];
        const regime = regimeOf(subject.country, subject.region, mode);
        const minor = isMinor(subject.birthDate, now);
        const latest = (key: string) => events.findLast((e) => e.purposeKey === key && e.regime === regime && !e.sensitive);
        const choices = statuses.map((status) => {
          const purpose = findPurpose(status.purposeKey)!;
          return {
            key: purpose.key,
            title: purpose.title,
            description: purpose.description,
            choice: describeChoice(purpose, regime, minor, status.decision, latest(purpose.key)),
            formToken: createFormToken(keyring, subject.id),
          };
        });
        const saved = choices.find((c) => c.key === url.searchParams.get('saved'));
        if (saved) notices.unshift({ kind: 'success', text: `Saved: "${saved.title}" is now ${saved.choice.on ? 'on' : 'off'}.` });
        if (url.searchParams.get('notice') === 'stale') {
          notices.unshift({
            kind: 'warning',
            text: 'That form had already been used for another choice, so nothing was changed. Here are your current choices.',
          });
        }
        const titles = new Map(PURPOSES.map((p) => [p.key as string, p.title as string]));
        return renderCenterPage(
          {
            name: `${subject.firstName} ${subject.lastName}`.trim(),
            regimeNote: regimeNote(regime),
            linkToken: url.searchParams.get('token')!,
            linkExpires: formatDate(linkExpiresAt),
            notices,
            choices,
            necessary: PURPOSES.filter((p) => !takesConsent(p)).map((p) => ({
              title: p.title,
              description: p.description,
              basis: CONTRACT_BASIS,
            })),
            history: events
              .slice(-HISTORY_SHOWN)
              .reverse()
              .map((e) => historyRow(e, titles.get(e.purposeKey) ?? e.purposeKey)),
            earlierEvents: Math.max(0, events.length - HISTORY_SHOWN),
          },
          nonce,
        );
      }

      /**
       * Global Privacy Control, honoured on every visit that carries it (the
       * ledger records once). A subject who opted back in to sale/sharing on
       * this very page confirmed that business-specific setting, which the
       * CCPA regulations let stand; re-applying the signal on the next page
       * load would undo their explicit choice, so we only say so.
       */
      async function honourGpc(subject: { id: string }, req: Request, server: object): Promise<Notice | null> {
        const purposeTitles = GPC_OPT_OUT_PURPOSES.map((k) => findPurpose(k)?.title.toLowerCase() ?? k).join(', ');
        const confirmed = await db.prisma.consentState.findFirst({
          where: {
            customerId: subject.id,
            purposeKey: { in: [...GPC_OPT_OUT_PURPOSES] },
            sensitive: false,
            source: 'CONSENT_CENTER',
            action: { in: ['GRANT', 'OPT_IN'] },
          },
          select: { updatedAt: true },
        });
        if (confirmed) {
          return {
            kind: 'info',
            text: `Your browser sends a Global Privacy Control signal, but on ${formatDate(confirmed.updatedAt)} you allowed ${purposeTitles} on this page, so that choice stands. Opt out below to change it.`,
          };
        }
        const result = await recordConsent(db, gpcSignalRequest({ id: subject.id }, proof(req, server, proofKey), LEDGER_CLIENT, mode));
        if (result.gpc?.honoured) {
          return {
            kind: 'info',
            text:
              result.gpc.reason === 'RECORDED'
                ? `Your browser's Global Privacy Control signal was honoured: we recorded that you opt out of ${purposeTitles}.`
                : `Your browser's Global Privacy Control signal was honoured: you are opted out of ${purposeTitles}.`,
          };
        }
        return {
          kind: 'info',
          text: 'Your browser sends a Global Privacy Control signal. The law where you live does not make it an opt-out, so use the choices below to decide.',
        };
      }

      async function recordChoice(
        req: Request,
        server: object,
      ): Promise<{ kind: 'refused'; page: MessagePage } | { kind: 'done'; location: string }> {
        if (!sameOrigin(req, url)) return { kind: 'refused', page: FORM_REFUSED };
        const form = await readForm(req, fetchAPI);
        if (!form) return { kind: 'refused', page: FORM_REFUSED };
        const token = form.get('token');
        const link = verifyLinkToken(keyring, token, new Date());
        if (!link.valid) return { kind: 'refused', page: INVALID_LINK };
        const formNonce = verifyFormToken(keyring, link.customerId, form.get('form'));
        if (!formNonce) return { kind: 'refused', page: FORM_REFUSED };
        const purposeKey = form.get('purpose') ?? '';
        const action = form.get('action') as ConsentAction;
        if (!ACTIONS.includes(action)) return { kind: 'refused', page: FORM_REFUSED };
        const back = new URL(CONSENT_CENTER_PATH, url);
        back.searchParams.set('token', token!);
        try {
          const [purpose] = validatePurposes([purposeKey]);
          const noticeVersion = noticeVersionOf(purpose.version);
          validateChoice({ action, source: 'CONSENT_CENTER', noticeVersion, idempotencyKey: formNonce }, new Date());
          await recordConsent(db, {
            subject: { id: link.customerId },
            purposes: [purpose.key],
            action,
            source: 'CONSENT_CENTER',
            sensitive: false,
            noticeVersion,
            expiresAt: null,
            ...proof(req, server, proofKey),
            idempotencyKey: formNonce,
            clientId: LEDGER_CLIENT,
            gpcSignal: req.headers.get('sec-gpc')?.trim() === '1',
            mode,
          });
          back.searchParams.set('saved', purpose.key);
        } catch (error) {
          if (!(error instanceof ConsentQLError)) throw error;
          const code = error.extensions.code;
          if (code === 'IDEMPOTENCY_KEY_REUSED') back.searchParams.set('notice', 'stale');
          else if (code === 'NOT_FOUND') return { kind: 'refused', page: INVALID_LINK };
          else return { kind: 'refused', page: FORM_REFUSED };
        }
        return { kind: 'done', location: back.pathname + back.search };
      }
    },
  };
}

/**
 * Hashed IP (through the ledger's proof helper) and user agent of the person
 * who clicked: the address decided for this request from the socket peer, and
 * X-Forwarded-For only from a trusted proxy (src/http/trusted-proxies.ts).
 */
function proof(request: Request, server: object, key: string): { ipHash: string | null; userAgent: string | null } {
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

function securityHeaders(nonce: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
      "img-src 'self'",
      "form-action 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  };
}
