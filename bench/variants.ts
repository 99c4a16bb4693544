// The servers `npm run bench` compares, built from src/'s exported pieces:
//   enforced   createServer() exactly as `npm start` builds it
//   baseline   createServer({ benchmarkBaseline: true }): the same schema, field decisions off
//   shield     the mirror below (src/server.ts's composition) with graphql-shield
//   no-shield  the same mirror without graphql-shield (applyPermissions)
// The mirror pair isolates the requester layer: it differs in nothing else.
import type pino from 'pino';
import { createYoga } from 'graphql-yoga';
import type { Config } from '../src/config.ts';
import type { Database } from '../src/db/database.ts';
import { createServer, GRAPHQL_PATH } from '../src/server.ts';
import { buildSchema } from '../src/schema/index.ts';
import type { Context } from '../src/schema/context.ts';
import { createMasker, parseHmacKeys } from '../src/masking/index.ts';
import { createClientDirectory } from '../src/http/clients.ts';
import { usePurposeGate } from '../src/http/purpose-gate.ts';
import { useConsentExtension } from '../src/http/consent-extension.ts';
import { useDatabaseHealth } from '../src/http/health.ts';
import { applyPermissions } from '../src/http/permissions.ts';
import { recordAccess } from '../src/audit/access-log.ts';

export const VARIANTS = ['enforced', 'baseline', 'shield', 'no-shield'] as const;
export type Variant = (typeof VARIANTS)[number];

export function buildVariant(variant: Variant, config: Config, db: Database, logger: pino.Logger) {
  if (variant === 'enforced' || variant === 'baseline') return createServer({ config, db, logger, benchmarkBaseline: variant === 'baseline' });
  const masker = createMasker(parseHmacKeys(config.hmacKeys, { production: config.env === 'production' }));
  const schema = buildSchema();
  return createYoga<Record<string, unknown>, Context>({
    schema: variant === 'shield' ? applyPermissions(schema) : schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: false,
    maskedErrors: true,
    context: () => ({ db, masker, mode: config.mode, client: null, consent: null }),
    plugins: [
      useDatabaseHealth(db),
      usePurposeGate({ authenticate: createClientDirectory(db.prisma) }),
      useConsentExtension({ onDecided: (ctx, op) => recordAccess(db, logger, ctx, op) }),
    ],
  });
}
