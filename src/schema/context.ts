import type { Database } from '../db/database.ts';
import type { Masker } from '../masking/index.ts';
import type { DeploymentMode } from '../policy/types.ts';
import type { RequestConsent } from './consent-plugin/index.ts';

export type ClientRole = 'CONSUMER' | 'SCHEMA_OWNER' | 'ADMIN';

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
  mode: DeploymentMode;
  client: AuthenticatedClient | null;
  /** Null until a valid purpose has been declared: personal data then reads as masked. */
  consent: RequestConsent | null;
}
