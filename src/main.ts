import { startApp } from './app.ts';
import { loadConfig } from './config.ts';
import { DEMO_CLIENTS } from './db/demo-clients.ts';
import { demoConsentCenterLink } from './web/issue-link.ts';

let config: ReturnType<typeof loadConfig>;
let app: Awaited<ReturnType<typeof startApp>>;
const started = performance.now();
try {
  config = loadConfig();
  app = await startApp(config);
} catch (error) {
  // A start-up failure is the operator's to fix: say what, not where in our code.
  console.error(`ConsentQL could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const { logger } = app;

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
const consentCenterDemoLink = await demoConsentCenterLink(app.db, config, app.url);
if (consentCenterDemoLink) {
  logger.info(`consent center (demo link for CRM-EU-NO-MARKETING, development only): ${consentCenterDemoLink}`);
}
logger.info(`ConsentQL ready: GraphiQL at ${app.url}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
