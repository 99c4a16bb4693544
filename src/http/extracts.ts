import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import { checkRelation, resolveFields } from '../extracts/fields.ts';
import { FORMATS, type Format } from '../extracts/formats.ts';
import { findExtract, manifestOf } from '../extracts/manifest.ts';
import { startExtract } from '../extracts/run.ts';
import { createMasker, type HmacKeyring } from '../masking/index.ts';
import type { DeploymentMode } from '../policy/types.ts';
import type { AuthenticatedClient, ClientRole } from '../schema/context.ts';
import { resolvePurpose } from './purpose-gate.ts';
import { currentRequest } from './request-log.ts';

// POST /extracts: a data set for one purpose, streamed (NDJSON, CSV or
// Parquet), decided row by row and field by field as the GraphQL API would
// (src/extracts/). GET /extracts/<id>/manifest: what it holds and why, for the
// client that made it and for admins. The key and purpose are checked as for
// any read of personal data (the purpose gate's own check), before anything is read.

export const EXTRACTS_PATH = '/extracts';
const MANIFEST_PATH = /^\/extracts\/([^/]{1,40})\/manifest\/?$/;
/** Consuming apps extract for their purposes; admins may too. Consent recorders and schema owners read no bulk data. */
const EXTRACTORS: readonly ClientRole[] = ['CONSUMER', 'ADMIN'];
/** What a refused extract is told to wait: extracts take seconds to minutes. */
const RETRY_AFTER_SECONDS = 30;

export interface ExtractsOptions {
  db: Database;
  /** The HMAC keys of pseudonyms and tokens (config.keys.hmac). */
  keyring: HmacKeyring;
  mode: DeploymentMode;
  schema: GraphQLSchema;
  authenticate: (header: string | null) => Promise<AuthenticatedClient>;
  logger: Logger;
  /** Extracts running at once on this instance (CONSENTQL_MAX_EXTRACTS). */
  maxExtracts: number;
}

interface ExtractRequestBody {
  fields?: unknown;
  format?: unknown;
}

export function useExtracts(options: ExtractsOptions): Plugin {
  const { db, logger } = options;
  let running = 0;
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      const path = url.pathname;
      const manifestMatch = MANIFEST_PATH.exec(path);
      if (path !== EXTRACTS_PATH && path !== `${EXTRACTS_PATH}/` && !manifestMatch) return;
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        endResponse(
          new fetchAPI.Response(JSON.stringify(body), {
            status,
            headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
          }),
        );
      try {
        if (manifestMatch) {
          if (request.method !== 'GET' && request.method !== 'HEAD') return json(405, methodError('GET'), { allow: 'GET, HEAD' });
          const client = await options.authenticate(request.headers.get('authorization'));
          const extract = await findExtract(db, manifestMatch[1]);
          // Another client's extract is not told apart from one that does not exist.
          if (!extract || (extract.clientId !== client.id && client.role !== 'ADMIN')) {
            throw new ConsentQLError(
              'NOT_FOUND',
              `No extract ${JSON.stringify(manifestMatch[1].slice(0, 40))} of this client. Use the id of the X-Extract-Id header of an extract this key made.`,
            );
          }
          return json(200, manifestOf(extract));
        }
        if (request.method !== 'POST') return json(405, methodError('POST'), { allow: 'POST' });
        const client = await options.authenticate(request.headers.get('authorization'));
        const { purpose } = resolvePurpose(request.headers, client);
        if (!EXTRACTORS.includes(client.role)) {
          throw new ConsentQLError(
            'FORBIDDEN',
            `Client "${client.name}" has role ${client.role}; extracts need ${EXTRACTORS.join(' or ')}. Use a consuming app's key.`,
          );
        }
        const body = await readBody(request);
        const fields = resolveFields(options.schema, body.fields);
        checkRelation(purpose, fields);
        const format = parseFormat(body.format);
        if (running >= options.maxExtracts) {
          throw new ConsentQLError(
            'RATE_LIMITED',
            `${running} extracts are running on this instance, its most (CONSENTQL_MAX_EXTRACTS). Retry when one has ended.`,
            { running, maxExtracts: options.maxExtracts },
            { 'retry-after': String(RETRY_AFTER_SECONDS) },
          );
        }
        running += 1;
        let started: Awaited<ReturnType<typeof startExtract>>;
        try {
          const onEnd = () => {
            running -= 1;
          };
          started = await startExtract(
            // A masker of its own, without a token cache: each subject comes once, and a million pseudonyms
            // would otherwise flush the cache the API's reads share.
            { db, masker: createMasker(options.keyring, { tokenCacheSize: 0 }), mode: options.mode, logger, onEnd },
            { client, purpose, fields, format },
          );
        } catch (error) {
          running -= 1;
          throw error;
        }
        // Counts and names only: which subjects are in it is in extract_member, never in logs.
        logger.info({ extract: started.id, client: client.name, purpose: purpose.key, format, fields: fields.length }, 'extract started');
        return endResponse(
          new fetchAPI.Response(started.body, {
            status: 200,
            headers: {
              'content-type': started.contentType,
              'content-disposition': `attachment; filename="${started.filename}"`,
              'cache-control': 'no-store',
              'x-extract-id': started.id,
              'x-extract-manifest': `${EXTRACTS_PATH}/${started.id}/manifest`,
            },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConsentQLError)) throw error;
        const code = String(error.extensions.code);
        currentRequest()?.errorCodes.push(code);
        const { http, ...details } = error.extensions as { http: { status: number; headers?: Record<string, string> } };
        return json(http.status, { errors: [{ message: error.message, extensions: details }] }, http.headers);
      }
    },
  };
}

function methodError(allowed: string) {
  return {
    errors: [
      {
        message: `This path answers ${allowed} only. See the README, "Training pipelines: extracts".`,
        extensions: { code: 'BAD_REQUEST' },
      },
    ],
  };
}

async function readBody(request: Request): Promise<ExtractRequestBody> {
  const type = request.headers.get('content-type')?.split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `An extract request is a JSON body (Content-Type: application/json) such as {"fields": ["Customer.churnScore"], "format": "ndjson"}, but the Content-Type is ${JSON.stringify(type ?? null)}.`,
    );
  }
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new ConsentQLError('BAD_USER_INPUT', 'The body is not valid JSON. Send {"fields": ["Customer.churnScore"], "format": "ndjson"}.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ConsentQLError('BAD_USER_INPUT', 'The body must be a JSON object with "fields" (and optionally "format").');
  }
  return body as ExtractRequestBody;
}

function parseFormat(format: unknown): Format {
  if (format === undefined || format === null) return 'ndjson';
  if (typeof format === 'string' && (FORMATS as readonly string[]).includes(format)) return format as Format;
  throw new ConsentQLError(
    'BAD_USER_INPUT',
    `format expects one of ${FORMATS.join(', ')}, but got ${JSON.stringify(format).slice(0, 100)}.`,
    { argument: 'format', validFormats: FORMATS },
  );
}
