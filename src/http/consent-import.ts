import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { importConsent, type ImportReport } from '../consent/import/index.ts';
import { bodyChunks } from '../consent/import/lines.ts';
import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import { findPurpose, PURPOSE_KEYS } from '../policy/taxonomy.ts';
import type { DeploymentMode } from '../policy/types.ts';
import type { AuthenticatedClient, ClientRole } from '../schema/context.ts';
import { CONSENT_MANAGEMENT } from '../schema/consent-api/access.ts';
import { payloadTooLargeResponse } from './body-limit.ts';
import { currentRequest } from './request-log.ts';

// POST /consent/import: consent events captured elsewhere (a CRM's history),
// one JSON object per line (application/x-ndjson), recorded through the same
// ledger tables as any consent write and propagated like them. Who may call
// it is who may record consent (src/http/permissions.ts: consent recorders
// and admins), under the purpose of consent management, as the consent
// mutations are. The answer is a report of what became of every line
// (src/consent/import/).
//
// The body is limited here, to CONSENTQL_MAX_IMPORT_BYTES, and this plugin
// goes before useBodyLimit: its limit pipes a body through a TransformStream,
// which with the fetch ponyfill of node:http reads the whole body as fast as
// it arrives, whoever waits downstream. Read here chunk by chunk, an import
// body comes off the socket no faster than it is written to the database.

export const CONSENT_IMPORT_PATH = '/consent/import';
/** The import's path, with or without a trailing slash (as useNotFound lets through). */
export const isImportPath = (pathname: string): boolean => pathname === CONSENT_IMPORT_PATH || pathname === `${CONSENT_IMPORT_PATH}/`;
const MEDIA_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl']);
const RECORDERS: readonly ClientRole[] = ['CONSENT_RECORDER', 'ADMIN'];

export interface ConsentImportOptions {
  db: Database;
  authenticate: (header: string | null) => Promise<AuthenticatedClient>;
  mode: DeploymentMode;
  proofKey: string;
  /** Lines per transaction (CONSENTQL_IMPORT_BATCH_SIZE). */
  batchSize: number;
  /** The largest body read, in bytes (CONSENTQL_MAX_IMPORT_BYTES). */
  maxBytes: number;
  logger: Logger;
}

export function useConsentImport(options: ConsentImportOptions): Plugin {
  const { db, logger } = options;
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (!isImportPath(url.pathname)) return;
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        endResponse(
          new fetchAPI.Response(JSON.stringify(body), {
            status,
            headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
          }),
        );
      // A body that says it is too large is refused before a byte of it is read (as useBodyLimit does).
      const declared = request.headers.get('content-length')?.trim();
      if (declared && /^\d+$/.test(declared) && Number(declared) > options.maxBytes) {
        currentRequest()?.errorCodes.push('PAYLOAD_TOO_LARGE');
        return endResponse(payloadTooLargeResponse(fetchAPI, options.maxBytes));
      }
      let client: AuthenticatedClient;
      try {
        client = await admit(request, options);
      } catch (error) {
        if (!(error instanceof ConsentQLError)) throw error;
        const { http, status, ...extensions } = error.extensions as Record<string, unknown> & {
          http: { status: number; headers?: Record<string, string> };
          status?: number;
        };
        currentRequest()?.errorCodes.push(String(extensions.code));
        // The body is not read: the connection cannot carry another request after it.
        return json(status ?? http.status, { errors: [{ message: error.message, extensions }] }, { ...http.headers, connection: 'close' });
      }
      const started = performance.now();
      const report = await importConsent(db, bodyChunks(request.body!, options.maxBytes), {
        clientId: client.id,
        mode: options.mode,
        proofKey: options.proofKey,
        batchSize: options.batchSize,
        logger,
      });
      const seconds = (performance.now() - started) / 1000;
      // Counts only: the lines and the report's messages carry identifiers of subjects.
      logger.info(
        {
          client: client.name,
          lines: report.lines,
          recorded: report.recorded,
          propagated: report.propagated,
          duplicates: report.duplicates,
          rejected: report.rejected,
          complete: report.complete,
          eventsPerSecond: Math.round(report.lines / Math.max(seconds, 0.001)),
        },
        'consent import',
      );
      if (report.error) currentRequest()?.errorCodes.push(report.error.code);
      return json(statusOf(report), report, report.error ? { connection: 'close' } : {});
    },
  };
}

/** 200 when every line was handled (rejected lines are part of a report); otherwise why it stopped. */
function statusOf(report: ImportReport): number {
  if (!report.error) return 200;
  if (report.error.code === 'PAYLOAD_TOO_LARGE') return 413;
  if (report.error.code === 'CONSENT_UNAVAILABLE') return 503;
  return 400;
}

/** A refusal whose HTTP status is not its code's usual one (405, 415). */
function refusal(message: string, status: number, headers?: Record<string, string>): ConsentQLError {
  return new ConsentQLError('BAD_USER_INPUT', message, { status }, headers);
}

/** The importing client, or the coded refusal; nothing of the body is read before. */
async function admit(request: Request, options: ConsentImportOptions): Promise<AuthenticatedClient> {
  if (request.method !== 'POST') {
    throw refusal(`${CONSENT_IMPORT_PATH} expects POST with an NDJSON body (one consent event per line), but got ${request.method}.`, 405, {
      allow: 'POST',
    });
  }
  const client = await options.authenticate(request.headers.get('authorization'));
  if (!RECORDERS.includes(client.role)) {
    throw new ConsentQLError(
      'FORBIDDEN',
      `Client "${client.name}" has role ${client.role}; importing consent needs ${RECORDERS.join(' or ')}. Ask an admin for access, or use a client registered for it.`,
    );
  }
  const declared = request.headers.get('x-purpose')?.trim();
  if (!declared) {
    throw new ConsentQLError(
      'PURPOSE_REQUIRED',
      `The X-Purpose header is required: importing consent is done for the purpose "${CONSENT_MANAGEMENT}". Send "X-Purpose: ${CONSENT_MANAGEMENT}".`,
      { validPurposes: [CONSENT_MANAGEMENT] },
    );
  }
  if (!findPurpose(declared)) {
    throw new ConsentQLError(
      'UNKNOWN_PURPOSE',
      `X-Purpose "${declared}" is not a purpose of the taxonomy; expected one of: ${PURPOSE_KEYS.join(', ')}. Importing consent declares "${CONSENT_MANAGEMENT}".`,
      { received: declared, validPurposes: PURPOSE_KEYS },
    );
  }
  if (declared !== CONSENT_MANAGEMENT || !client.allowedPurposes.includes(CONSENT_MANAGEMENT)) {
    throw new ConsentQLError(
      'PURPOSE_NOT_ALLOWED',
      declared !== CONSENT_MANAGEMENT
        ? `Importing consent is done for the purpose "${CONSENT_MANAGEMENT}", but this request declared X-Purpose "${declared}". Send "X-Purpose: ${CONSENT_MANAGEMENT}".`
        : `Client "${client.name}" is not registered for the purpose "${CONSENT_MANAGEMENT}"; it may declare: ${client.allowedPurposes.join(', ') || 'none'}. ` +
            'Ask an admin to register the purpose for this client.',
      { received: declared, allowedPurposes: client.allowedPurposes },
    );
  }
  const type = request.headers.get('content-type') ?? '';
  const [mediaType, ...params] = type.split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  if (!MEDIA_TYPES.has(mediaType) || (charset && charset.replace(/"/g, '') !== 'utf-8')) {
    throw refusal(
      `An import expects "Content-Type: application/x-ndjson" (UTF-8, one JSON object per line), but got ${JSON.stringify(type || 'none')}.`,
      415,
    );
  }
  if (!request.body) {
    throw new ConsentQLError('BAD_USER_INPUT', 'An import expects a body of consent events, one JSON object per line, but got none.');
  }
  return client;
}
