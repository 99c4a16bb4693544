import { createLogger, startApp, type App } from './app.ts';
import { loadConfig } from './config.ts';
import { DEMO_CLIENTS } from './db/demo-clients.ts';
import { installProcessHandlers } from './lifecycle.ts';
import { demoConsentCenterLink } from './web/issue-link.ts';

/** A start-up failure is the operator's to fix: say what, not where in our code. */
function cannotStart(error: unknown): never {
  console.error(`ConsentQL could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
  if (config.role === 'worker') {
    throw new Error(
      'CONSENTQL_ROLE=worker: start delivery workers with `npm run worker`; `npm start` serves the API (CONSENTQL_ROLE=all or api).',
    );
  }
} catch (error) {
  cannotStart(error);
}
const logger = createLogger(config);
const started = performance.now();
const starting = startApp(config, logger);
let app: App | undefined;
// From here on: SIGTERM/SIGINT stop the server in order (a signal during start-up waits for the start to end),
// a second signal exits at once, and a fatal error is logged and exits 1 (src/lifecycle.ts).
const process_ = installProcessHandlers({
  logger,
  shutdown: async () => {
    const running = await starting.catch(() => undefined);
    await running?.close();
  },
  flush: async () => {
    await app?.flush();
  },
});
try {
  app = await starting;
} catch (error) {
  cannotStart(error);
}

logger.info(
  { database: app.db.location, embedded: Boolean(app.db.embedded), mode: config.mode, ms: Math.round(performance.now() - started) },
  app.db.embedded ? `embedded PostgreSQL (PGlite); data in ${app.db.location}` : `PostgreSQL at ${app.db.location}`,
);
if (config.env !== 'production') {
  const clients = DEMO_CLIENTS.map(
    (c) => `  ${c.name.padEnd(22)} Authorization: Bearer ${c.apiKey.padEnd(26)} X-Purpose: ${c.allowedPurposes.join('|')}`,
  ).join('\n');
  logger.info(`demo clients (development only):\n${clients}`);
}
// Not once a signal has begun the shutdown (the database may be closing).
const consentCenterDemoLink = process_.stopping() ? null : await demoConsentCenterLink(app.db, config, app.url);
if (consentCenterDemoLink) {
  logger.info(`consent center (demo link for CRM-EU-NO-MARKETING, development only): ${consentCenterDemoLink}`);
}
if (app.metricsUrl) logger.info(`metrics at ${app.metricsUrl}`);
if (!process_.stopping()) {
  // GraphiQL is served outside production only (src/server.ts).
  logger.info(config.env === 'production' ? `ConsentQL ready: API at ${app.url}` : `ConsentQL ready: GraphiQL at ${app.url}`);
}
