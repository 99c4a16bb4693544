import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('has working defaults for development', () => {
    expect(loadConfig({})).toMatchObject({ env: 'development', port: 4000, databaseUrl: undefined, mode: 'per-jurisdiction' });
  });

  it('treats an exported but empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ databaseUrl: undefined, port: 4000 });
  });

  it('refuses production without the key that hashes IPs in proofs of consent, saying what to set', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/CONSENTQL_PROOF_KEY: is required in production/);
  });

  it('names each invalid variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', CONSENTQL_MODE: 'lenient' })).toThrow(/PORT: .*; CONSENTQL_MODE: /);
  });
});
