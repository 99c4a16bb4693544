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

  it('refuses production on the embedded database unless asked for, saying why and what to set, with every other problem', () => {
    const proofKey = 'p'.repeat(32);
    expect(() => loadConfig({ NODE_ENV: 'production', CONSENTQL_PROOF_KEY: proofKey })).toThrow(
      /DATABASE_URL: is required in production .*embedded .*CONSENTQL_EMBEDDED_IN_PRODUCTION=1/,
    );
    expect(() => loadConfig({ NODE_ENV: 'production', PORT: 'eighty' })).toThrow(/PORT: .*; CONSENTQL_PROOF_KEY: .*; DATABASE_URL: /);
    expect(loadConfig({ NODE_ENV: 'production', CONSENTQL_PROOF_KEY: proofKey, CONSENTQL_EMBEDDED_IN_PRODUCTION: '1' }).env).toBe('production');
    expect(loadConfig({ NODE_ENV: 'production', CONSENTQL_PROOF_KEY: proofKey, DATABASE_URL: 'postgresql://db.internal/consentql' }).env).toBe('production');
  });

  it('reads the trust boundaries, with closed defaults', () => {
    expect(loadConfig({})).toMatchObject({
      trustedProxies: [],
      corsOrigins: [],
      maxBodyBytes: 100_000,
      maxSubscriptionsPerClient: 10,
      debugErrors: false,
    });
    expect(
      loadConfig({
        CONSENTQL_TRUSTED_PROXIES: ' 10.0.0.0/8, 192.0.2.1 ,fd00::/8',
        CONSENTQL_CORS_ORIGINS: 'https://app.example, https://admin.example',
        CONSENTQL_MAX_BODY_BYTES: '2000',
        CONSENTQL_MAX_SUBSCRIPTIONS_PER_CLIENT: '3',
        CONSENTQL_DEBUG_ERRORS: '1',
      }),
    ).toMatchObject({
      trustedProxies: ['10.0.0.0/8', '192.0.2.1', 'fd00::/8'],
      corsOrigins: ['https://app.example', 'https://admin.example'],
      maxBodyBytes: 2000,
      maxSubscriptionsPerClient: 3,
      debugErrors: true,
    });
    expect(() => loadConfig({ CONSENTQL_TRUSTED_PROXIES: '10.0.0.0/33,proxy.internal', CONSENTQL_CORS_ORIGINS: '*' })).toThrow(
      /CONSENTQL_TRUSTED_PROXIES: .*10\.0\.0\.0\/33.*proxy\.internal.*; CONSENTQL_CORS_ORIGINS: /,
    );
  });

  it('names each invalid variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', CONSENTQL_MODE: 'lenient' })).toThrow(/PORT: .*; CONSENTQL_MODE: /);
  });
});
