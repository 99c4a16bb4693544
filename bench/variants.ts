// The servers `npm run bench` compares, all built by src/server.ts's createServer:
//   enforced   exactly as `npm start` builds it
//   baseline   the same schema with field decisions off (benchmarkBaseline)
//   shield     the enforced server again, as the pair below's reference
//   no-shield  the same without graphql-shield (benchmarkWithoutShield)
import type pino from 'pino';
import type { Config } from '../src/config.ts';
import type { Database } from '../src/db/database.ts';
import { createServer } from '../src/server.ts';

export const VARIANTS = ['enforced', 'baseline', 'shield', 'no-shield'] as const;
export type Variant = (typeof VARIANTS)[number];

export function buildVariant(variant: Variant, config: Config, db: Database, logger: pino.Logger) {
  return createServer({
    config,
    db,
    logger,
    benchmarkBaseline: variant === 'baseline',
    benchmarkWithoutShield: variant === 'no-shield',
  });
}
