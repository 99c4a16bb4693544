import { randomBytes } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { subjectActivityPage } from '../audit/access-records.ts';
import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import { gpcSignalRequest, recordConsent } from '../consent/ledger.ts';
import { isPayloadTooLarge, payloadTooLargeResponse } from '../http/body-limit.ts';
import type { HmacKeyring } from '../masking/types.ts';
import { PURPOSES, takesConsent } from '../policy/taxonomy.ts';
import { GPC_OPT_OUT_PURPOSES } from '../policy/universal-opt-out.ts';
import type { DeploymentMode } from '../policy/types.ts';
import { exportSubject, subjectExportResponse } from '../rights/export.ts';
import { activityLine } from './activity.ts';
import { centerState, savedNotices, sensitiveLabel, withdrawAllPlan, type CenterSubject } from './center.ts';
import {
  CATALOGS,
  cookieLocale,
  formatDate,
  LANGUAGE_COOKIE,
  localeOf,
  negotiateLocale,
  purposeText,
  purposeTitle,
  type Locale,
} from './i18n/index.ts';
import type { MessageText } from './i18n/types.ts';
import { createFormToken, verifyLinkToken } from './links.ts';
import {
  ACTIVITY_PATH,
  CONSENT_CENTER_PATH,
  EXPORT_PATH,
  renderActivityPage,
  renderCenterPage,
  renderMessagePage,
  type Notice,
  type PageContext,
} from './page.ts';
import type { Speech } from './view.ts';
import { LEDGER_CLIENT, MAX_FORM_BYTES, proof, recordChoice, subjectOf } from './forms.ts';

export { noticeVersionOf } from './center.ts';

// GET and POST /consent-center: a data subject, signed in by the link we
// emailed them, sees and changes their choices, in their language. Every
// change goes through the consent ledger (one transaction: events, state,
// outbox), with source CONSENT_CENTER, the notice version shown, and proof of
// who clicked. GET /consent-center/activity shows who used their data;
// GET /consent-center/export downloads all of it (src/rights/export.ts).

export interface ConsentCenterOptions {
  db: Database;
  keyring: HmacKeyring;
  logger: Logger;
  mode: DeploymentMode;
  /** Hashes the clicking person's IP address in the proof of consent. */
  proofKey: string;
}

const PATHS = new Set([CONSENT_CENTER_PATH, ACTIVITY_PATH, EXPORT_PATH]);
const ACTIVITY_PAGE = 20;
const YEAR_SECONDS = 365 * 24 * 60 * 60;

export function useConsentCenter({ db, keyring, logger, mode, proofKey }: ConsentCenterOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse, serverContext, fetchAPI }) {
      if (!PATHS.has(url.pathname)) return;
      const nonce = randomBytes(16).toString('base64');
      const cookies = request.headers.get('cookie');
      const chosen = localeOf(url.searchParams.get('lang'));
      // A language picked on the page is remembered for this page only (a year; no personal data).
      const remember: Record<string, string> = chosen
        ? {
            'set-cookie': `${LANGUAGE_COOKIE}=${chosen}; Path=${CONSENT_CENTER_PATH}; Max-Age=${YEAR_SECONDS}; SameSite=Lax; HttpOnly${url.protocol === 'https:' ? '; Secure' : ''}`,
          }
        : {};
      const respond = (status: number, body: string, extra: Record<string, string> = {}) =>
        endResponse(
          new fetchAPI.Response(request.method === 'HEAD' ? null : body, {
            status,
            headers: { ...securityHeaders(nonce), ...remember, ...extra },
          }),
        );
      const messageLocale = (): Locale =>
        negotiateLocale({ chosen, cookie: cookies, acceptLanguage: request.headers.get('accept-language') });
      const message = (status: number, page: 'invalidLink' | 'formRefused' | 'failed', locale = messageLocale()) =>
        respond(status, renderMessagePage(locale, CATALOGS[locale][page] as MessageText, nonce));

      try {
        if (request.method === 'GET' || request.method === 'HEAD') {
          const link = verifyLinkToken(keyring, url.searchParams.get('token'), new Date());
          if (!link.valid) return message(403, 'invalidLink');
          const subject = await subjectOf(db, link.customerId);
          // An erased subject's link shows no more than a forged one.
          if (!subject) return message(403, 'invalidLink');
          const locale = negotiateLocale({
            chosen,
            cookie: cookies,
            preferred: subject.preferredLanguage,
            acceptLanguage: request.headers.get('accept-language'),
          });
          const context: PageContext = {
            locale,
            t: CATALOGS[locale],
            linkToken: url.searchParams.get('token')!,
            chosenLocale: chosen !== null || cookieLocale(cookies) !== null,
          };
          if (url.pathname === EXPORT_PATH) {
            const document = await exportSubject(db, subject.id, { mode });
            const download = subjectExportResponse(document);
            return endResponse(
              new fetchAPI.Response(request.method === 'HEAD' ? null : await download.text(), {
                status: 200,
                headers: Object.fromEntries(download.headers),
              }),
            );
          }
          if (url.pathname === ACTIVITY_PATH) return respond(200, await showActivity(subject.id, context));
          return respond(200, await showPage(subject, context, link.expiresAt));
        }
        if (request.method === 'POST' && url.pathname === CONSENT_CENTER_PATH) {
          const outcome = await recordChoice({ db, keyring, mode, proofKey }, request, url, serverContext, fetchAPI);
          if (outcome.kind === 'refused') return message(403, outcome.page);
          return respond(303, '', { location: outcome.location });
        }
        return respond(405, '', { allow: url.pathname === CONSENT_CENTER_PATH ? 'GET, HEAD, POST' : 'GET, HEAD' });
      } catch (error) {
        // A form larger than any of ours, refused while it streamed in: the rest was never read.
        if (isPayloadTooLarge(error)) return endResponse(payloadTooLargeResponse(fetchAPI, MAX_FORM_BYTES));
        // The subject's export found no customer (erased meanwhile): as an invalid link.
        if (error instanceof ConsentQLError && error.extensions.code === 'NOT_FOUND') return message(403, 'invalidLink');
        // Described, not dumped: database errors quote the values they failed on.
        logger.error({ err: error }, 'consent center request failed');
        return message(500, 'failed');
      }

      async function showPage(
        subject: CenterSubject & { firstName: string | null; lastName: string | null },
        context: PageContext,
        linkExpiresAt: Date,
      ): Promise<string> {
        const speech: Speech = { locale: context.locale, t: context.t };
        const notices: Notice[] = [];
        if (request.headers.get('sec-gpc')?.trim() === '1') {
          const gpc = await honourGpc(subject, request, serverContext, speech);
          if (gpc) notices.push(gpc);
        }
        const state = await centerState(db, keyring, mode, speech, subject);
        notices.unshift(...savedNotices(speech, state, url.searchParams));
        const plan = withdrawAllPlan(state);
        const { t } = context;
        return renderCenterPage(
          {
            ...context,
            name: `${subject.firstName ?? ''} ${subject.lastName ?? ''}`.trim(),
            regimeNote: t.regime[state.regime],
            linkExpires: formatDate(context.locale, linkExpiresAt),
            notices,
            focusStatus: url.searchParams.has('saved') || url.searchParams.has('notice'),
            savedKey: url.searchParams.get('saved'),
            choices: state.choices,
            withdrawAll: { formToken: createFormToken(keyring, subject.id), available: plan.size > 0 },
            limitSensitive: state.sensitive
              ? {
                  formToken: createFormToken(keyring, subject.id),
                  limited: state.sensitive.limited,
                  label: sensitiveLabel(speech, state.sensitive),
                }
              : null,
            necessary: PURPOSES.filter((p) => !takesConsent(p)).map((p) => ({ ...purposeText(t, p), basis: t.contractBasis })),
            history: state.history,
            earlierEvents: state.earlierEvents,
            download: true,
          },
          nonce,
        );
      }

      async function showActivity(customerId: string, context: PageContext): Promise<string> {
        const after = url.searchParams.get('after');
        let page: Awaited<ReturnType<typeof subjectActivityPage>>;
        try {
          page = await subjectActivityPage(db, customerId, { first: ACTIVITY_PAGE, after });
        } catch (error) {
          // A cursor we did not make (edited by hand): the newest entries instead.
          if (!(error instanceof ConsentQLError) || error.extensions.code !== 'INVALID_CURSOR') throw error;
          page = await subjectActivityPage(db, customerId, { first: ACTIVITY_PAGE });
        }
        const speech: Speech = { locale: context.locale, t: context.t };
        return renderActivityPage(
          { ...context, entries: page.entries.map((e) => activityLine(speech, e)), older: page.endCursor, paged: Boolean(after) },
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
      async function honourGpc(subject: { id: string }, req: Request, server: object, { locale, t }: Speech): Promise<Notice | null> {
        const titles = GPC_OPT_OUT_PURPOSES.map((k) => {
          const title = purposeTitle(t, k);
          return locale === 'en' ? title.toLowerCase() : title;
        }).join(', ');
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
        if (confirmed) return { kind: 'info', text: t.gpc.confirmed(formatDate(locale, confirmed.updatedAt), titles) };
        const result = await recordConsent(db, gpcSignalRequest({ id: subject.id }, proof(req, server, proofKey), LEDGER_CLIENT, mode));
        if (result.gpc?.honoured) {
          return { kind: 'info', text: result.gpc.reason === 'RECORDED' ? t.gpc.recorded(titles) : t.gpc.already(titles) };
        }
        return { kind: 'info', text: t.gpc.notRequired };
      }
    },
  };
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
