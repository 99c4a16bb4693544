import type { Database } from '../db/database.ts';
import type { Masker } from '../masking/index.ts';
import type { DeploymentMode } from '../policy/types.ts';
import type { RequestConsent } from './consent-plugin/index.ts';
import type { CursorSeal } from './pagination/cursor-seal.ts';
import type { Propagation } from '../propagation/index.ts';
import type { TargetPolicy } from '../propagation/targets.ts';

import type { ClientRole } from '../generated/prisma/enums.ts';

export type { ClientRole };

export interface AuthenticatedClient {
  id: string;
  name: string;
  role: ClientRole;
  allowedPurposes: readonly string[];
  canExplain: boolean;
}

/** Built once per request by the server (src/server.ts). */
export interface Context {
  db: Database;
  masker: Masker;
  /** Seals and opens pagination cursors (src/schema/pagination/cursor-seal.ts). */
  cursors: CursorSeal;
  mode: DeploymentMode;
  /** Hashes IP addresses in proofs of consent (CONSENTQL_PROOF_KEY). */
  proofKey: string;
  /** This process's change hub and dispatcher; null where the server runs without them (some tests). */
  propagation: Propagation | null;
  /** Where webhook subscriptions may point (CONSENTQL_WEBHOOK_ALLOW_HOSTS), as deliveries check it. */
  webhookTargets: TargetPolicy;
  client: AuthenticatedClient | null;
  /** Resolves `Authorization: Bearer <key>` (one cached directory per server; src/http/clients.ts). */
  authenticate(header: string | null): Promise<AuthenticatedClient>;
  /** Null until a valid purpose has been declared: personal data then reads as masked. */
  consent: RequestConsent | null;
  /** The HTTP request (set by Yoga): consent writes read Sec-GPC and proof headers from it. */
  request?: Request;
  /** The Node request when served by node:http (set by Yoga): the peer address for proof of consent. */
  req?: { socket?: { remoteAddress?: string } };
}
