import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { GraphQLError, ValidationContext } from 'graphql';
import { ConsentQLError } from './errors.ts';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { createMasker, type Masker } from './masking/index.ts';
import type { Propagation } from './propagation/index.ts';
import { targetPolicy } from './propagation/targets.ts';
import { buildSchema } from './schema/index.ts';
import { createCursorSeal } from './schema/pagination/cursor-seal.ts';
import type { Context } from './schema/context.ts';
import { createClientDirectory } from './http/clients.ts';
import { usePurposeGate } from './http/purpose-gate.ts';
import { useConsentExtension } from './http/consent-extension.ts';
import { HEALTH_PATH, LIVENESS_PATH, READINESS_PATH, useHealthChecks } from './http/health.ts';
import { useCostLimit, useRateLimit } from './http/cost-limit.ts';
import { applyPermissions } from './http/permissions.ts';
import { AccessLog, useAccessLogAdmission } from './audit/access-log.ts';
import { useConsentCenter } from './web/consent-center.ts';
import { CONSENT_CENTER_PATH } from './web/page.ts';
import { TrustedProxies, useClientAddress } from './http/trusted-proxies.ts';
import { useBodyLimit } from './http/body-limit.ts';
import { useCorsAllowList } from './http/cors.ts';
import { SubscriptionSlots, useSubscriptionCap } from './http/subscription-cap.ts';
import { useNotFound } from './http/not-found.ts';
import { EXTRACTS_PATH, useExtracts } from './http/extracts.ts';
import { CONSENT_IMPORT_PATH, useConsentImport } from './http/consent-import.ts';
import { yogaLogging } from './http/error-log.ts';
import { METRICS_PATH, useMetricsEndpoint, type Metrics } from './http/metrics.ts';
import { requestAwareLogger, useRequestLog } from './http/request-log.ts';
import { useShutdown, type Shutdown } from './lifecycle.ts';
import { useCompiledExecution } from './http/compiled-execution.ts';

export const GRAPHQL_PATH = '/graphql';
export { HEALTH_PATH };

const EXAMPLE_QUERY = `# The support chatbot reads tickets under the "support" purpose.
# Change the headers below to act as another demo client
# (see the README or the start-up log for their keys).
query SupportView {
  customers(first: 5) {
    totalCount
    edges {
      node {
        id
        firstName
        email
        country
        tickets(first: 2) {
          subject
          messages { author body }
        }
      }
    }
  }
}
`;

/**
 * GraphiQL from the installed bundle rather than Yoga's default CDN, so that
 * it works offline and loads nothing from third parties; the page (about
 * 9 MB of inlined assets) is rendered once per set of options.
 */
const graphiqlPages = new Map<string, string>();
function renderGraphiQLOnce(options: Parameters<typeof renderGraphiQL>[0]): string {
  const key = JSON.stringify(options);
  let page = graphiqlPages.get(key);
  if (!page) {
    page = renderGraphiQL(options);
    graphiqlPages.set(key, page);
  }
  return page;
}

/** GraphQL Armor's rejections, as coded validation errors (HTTP 400) that say what to do. */
const rejectAsTooLarge = {
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) =>
      context?.reportError(
        new ConsentQLError('QUERY_TOO_LARGE', `${error.message.replace(/^Syntax Error: /, '')} Split the request into smaller ones.`),
      ),
  ],
};

export interface ServerOptions {
  config: Config;
  db: Database;
  logger: Logger;
  /** `npm run bench` only: the same server without field decisions, as its baseline. */
  benchmarkBaseline?: boolean;
  /** `npm run bench` only: the same server without graphql-shield, to measure what it costs. */
  benchmarkWithoutShield?: boolean;
  /** This process's change hub and webhook dispatcher (live subscriptions, replays); without it, `consentChanged` says it is not running here. */
  propagation?: Propagation;
  /** Pseudonyms and masks; one per process (its HMAC cache), made from config.keys.hmac when not given. */
  masker?: Masker;
  /** Access records, written in batches (src/audit/access-log.ts); one with default settings when not given. Its owner flushes it on shutdown. */
  accessLog?: AccessLog;
  /** Prometheus metrics; without them the request metrics are not kept and /metrics does not exist. */
  metrics?: Metrics;
  /** The instance's shutdown state: readiness answers 503 and subscription streams end once it begins. */
  shutdown?: Shutdown;
  /** GET /metrics on this port needs `Authorization: Bearer <token>` (CONSENTQL_METRICS_TOKEN); unset: no /metrics here. */
  metricsToken?: string;
  /** The longest the database may take to answer /readyz and /health, in ms (CONSENTQL_READINESS_TIMEOUT). */
  readinessTimeoutMs?: number;
}

export function createServer(options: ServerOptions): YogaServerInstance<Record<string, unknown>, Context> {
  const { config, db, benchmarkBaseline, benchmarkWithoutShield, propagation, metrics, shutdown } = options;
  // Every line logged while a request is handled carries its id (src/http/request-log.ts).
  const logger = requestAwareLogger(options.logger);
  const accessLog = options.accessLog ?? new AccessLog(db, logger);
  const keyring = config.keys.hmac;
  const masker = options.masker ?? createMasker(keyring);
  const webhookTargets = propagation?.targets ?? targetPolicy(config.propagation.allowHosts);
  const cursors = createCursorSeal(keyring);
  const built = buildSchema({ benchmarkBaseline });
  const schema = benchmarkWithoutShield ? built : applyPermissions(built);
  const authenticate = createClientDirectory(db, { logger });
  const trustedProxies = new TrustedProxies(config.http.trustedProxies);
  const subscriptionSlots = new SubscriptionSlots(config.http.maxSubscriptionsPerClient);

  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    healthCheckEndpoint: '/yoga-health',
    // Errors are logged by type, code, redacted message and stack frames, with
    // the operation's name and a digest of its document: never the document's
    // text or the variables, which carry personal data (src/http/error-log.ts).
    logging: yogaLogging(logger),
    // Unexpected errors reach clients as "Unexpected error." without message or
    // stack trace, whatever NODE_ENV says (Yoga would show both under
    // development), unless CONSENTQL_DEBUG_ERRORS=1; coded errors pass through.
    maskedErrors: { isDev: config.http.debugErrors },
    // CORS only for the origins listed in CONSENTQL_CORS_ORIGINS (useCorsAllowList below); Yoga's own reflects any origin.
    cors: false,
    // useBodyLimit bounds every body (and refuses a malformed Content-Length); Yoga's own check
    // would stream each body through a second counting transform.
    maxRequestBodySize: false,
    renderGraphiQL: renderGraphiQLOnce,
    graphiql:
      config.env === 'production'
        ? false
        : {
            title: 'ConsentQL',
            defaultQuery: EXAMPLE_QUERY,
            headers: JSON.stringify({ Authorization: 'Bearer dev-support-chatbot-key', 'X-Purpose': 'support' }, null, 2),
          },
    context: () => ({
      db,
      masker,
      cursors,
      mode: config.mode,
      proofKey: config.keys.proof,
      propagation: propagation ?? null,
      webhookTargets,
      client: null,
      consent: null,
      authenticate,
    }),
    plugins: [
      // First: the request id, the request's log line and its metrics, around everything else.
      useRequestLog({
        logger: options.logger,
        metrics,
        graphqlPath: GRAPHQL_PATH,
        quietPaths: [HEALTH_PATH, LIVENESS_PATH, READINESS_PATH, METRICS_PATH],
      }),
      // Subscription streams end when the instance shuts down.
      ...(shutdown ? [useShutdown(shutdown)] : []),
      // Before anything reads the request: whose address it comes from (X-Forwarded-For only from
      // CONSENTQL_TRUSTED_PROXIES), and a bound on its body, enforced while it streams in.
      useClientAddress(trustedProxies),
      // The consent import limits its own body (CONSENTQL_MAX_IMPORT_BYTES) as it reads it, line by line.
      useConsentImport({
        db,
        authenticate,
        mode: config.mode,
        proofKey: config.keys.proof,
        batchSize: config.http.importBatchSize,
        maxBytes: config.http.maxImportBytes,
        logger,
      }),
      useBodyLimit(() => config.http.maxBodyBytes),
      ...(config.http.corsOrigins.length > 0 ? [useCorsAllowList(config.http.corsOrigins)] : []),
      // Bounds on what one request may ask for, checked before execution:
      // the deepest meaningful selection (customers → edges → node → tickets
      // → messages → body) is 6 levels, and aliases could repeat a costly
      // field many times. Armor's costLimit weighs fields, not page sizes
      // (customers(first: 1000) costs it what customers(first: 1) does), so
      // it stays off: useCostLimit below counts rows from the page sizes.
      // Field suggestions stay on: the schema is public through introspection anyway.
      EnvelopArmorPlugin({
        maxDepth: { n: 8, ignoreIntrospection: true, ...rejectAsTooLarge },
        maxAliases: { n: 15, ...rejectAsTooLarge },
        maxDirectives: { n: 20, ...rejectAsTooLarge },
        maxTokens: { n: 3000, ...rejectAsTooLarge },
        costLimit: { enabled: false },
        blockFieldSuggestion: { enabled: false },
      }),
      // Before the purpose gate, so that a refused request runs no SQL at all (not even authentication).
      useCostLimit({ maxRows: config.limits.maxRows }),
      useHealthChecks({
        db,
        shuttingDown: () => shutdown?.shuttingDown ?? false,
        auditSaturated: () => accessLog.saturated,
        readinessTimeoutMs: options.readinessTimeoutMs,
      }),
      ...(metrics ? [useMetricsEndpoint(metrics, options.metricsToken)] : []),
      useConsentCenter({ db, keyring, logger, mode: config.mode, proofKey: config.keys.proof }),
      // Bulk extracts for a purpose: authenticated and purpose-checked as the gate does, decided by the same policy.
      useExtracts({ db, keyring, mode: config.mode, schema: built, authenticate, logger, maxExtracts: config.http.maxExtracts }),
      usePurposeGate(),
      // After the gate, which authenticates: one token bucket per client id.
      ...(config.limits.rateLimit ? [useRateLimit(config.limits.rateLimit)] : []),
      // Open subscriptions per client, held from a stream's start to its end.
      useSubscriptionCap(subscriptionSlots),
      // After the gate, which decides whether the request reads personal data: refused while its read could not be recorded.
      useAccessLogAdmission(accessLog),
      useConsentExtension({
        onDecided: (ctx, operationName) => accessLog.recordRead(ctx, operationName),
      }),
      // Queries run compiled (graphql-jit): the same resolvers, without the interpreter's per-field work.
      useCompiledExecution(schema),
      // Last: a path none of the above serves (health and the consent center answer before it).
      useNotFound([
        { path: GRAPHQL_PATH, description: `the GraphQL API${config.env === 'production' ? '' : ' and GraphiQL'}` },
        { path: HEALTH_PATH, description: 'health check (readiness)' },
        { path: LIVENESS_PATH, description: 'liveness probe' },
        { path: READINESS_PATH, description: 'readiness probe' },
        ...(metrics && options.metricsToken ? [{ path: METRICS_PATH, description: 'Prometheus metrics (bearer token)' }] : []),
        { path: CONSENT_CENTER_PATH, description: 'consent center, through a personal link' },
        { path: EXTRACTS_PATH, description: 'extracts for a purpose (POST; manifests at /extracts/<id>/manifest)' },
        { path: CONSENT_IMPORT_PATH, description: 'bulk consent import (POST, NDJSON)' },
      ]),
    ],
  });
}
