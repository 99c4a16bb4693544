import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadConfig, SETTINGS } from '../../src/config.ts';

describe('configuration', () => {
  it('has working defaults for development', () => {
    expect(loadConfig({})).toMatchObject({
      env: 'development',
      role: 'all',
      http: { port: 4000 },
      database: { url: undefined },
      mode: 'per-jurisdiction',
    });
  });

  it('treats an exported but empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ database: { url: undefined }, http: { port: 4000 } });
  });

  it('refuses production without the key that hashes IPs in proofs of consent, saying what to set', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/CONSENTQL_PROOF_KEY: is required in production/);
  });

  it('refuses production on the embedded database unless asked for, saying why and what to set, with every other problem', () => {
    const proofKey = 'p'.repeat(32);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', CONSENTQL_PROOF_KEY: proofKey, CONSENTQL_HMAC_KEYS: `k1:${'s'.repeat(40)}` }),
    ).toThrow(/DATABASE_URL: is required in production .*embedded .*CONSENTQL_EMBEDDED_IN_PRODUCTION=1/);
    expect(() => loadConfig({ NODE_ENV: 'production', PORT: 'eighty' })).toThrow(
      /PORT: .*; CONSENTQL_PROOF_KEY: .*; DATABASE_URL: .*; CONSENTQL_HMAC_KEYS: .*not set/,
    );
    expect(
      loadConfig({
        NODE_ENV: 'production',
        CONSENTQL_PROOF_KEY: proofKey,
        CONSENTQL_HMAC_KEYS: `k1:${'s'.repeat(40)}`,
        CONSENTQL_EMBEDDED_IN_PRODUCTION: '1',
      }).env,
    ).toBe('production');
    expect(
      loadConfig({
        NODE_ENV: 'production',
        CONSENTQL_PROOF_KEY: proofKey,
        CONSENTQL_HMAC_KEYS: `k1:${'s'.repeat(40)}`,
        DATABASE_URL: 'postgresql://db.internal/consentql',
      }).env,
    ).toBe('production');
  });

  it('reads the trust boundaries, with closed defaults', () => {
    expect(loadConfig({}).http).toMatchObject({
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
      }).http,
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

  it('reads every process setting in one place: propagation, keys and role, with every problem reported at once', () => {
    const config = loadConfig({
      CONSENTQL_ROLE: 'api',
      CONSENTQL_WEBHOOK_RETRY_SCHEDULE: '100ms,2s',
      CONSENTQL_WEBHOOK_TIMEOUT: '3s',
      CONSENTQL_HMAC_KEYS: `k2:${'n'.repeat(40)},k1:${'o'.repeat(40)}`,
      CONSENTQL_PROOF_KEY: 'q'.repeat(32),
    });
    expect(config.propagation).toMatchObject({ retrySchedule: [100, 2000], timeoutMs: 3000, dispatch: false });
    expect(config.keys.hmac.current.id).toBe('k2');
    expect(config.keys.hmac.previous.map((k) => k.id)).toEqual(['k1']);
    expect(config.keys.proof).toBe('q'.repeat(32));
    expect(config.warnings).toEqual([]);
    // Development without keys runs on the public development key, and says so once.
    expect(loadConfig({}).warnings).toEqual([expect.stringMatching(/CONSENTQL_HMAC_KEYS is not set/)]);
    expect(() =>
      loadConfig({
        CONSENTQL_ROLE: 'both',
        CONSENTQL_WEBHOOK_TIMEOUT: 'soon',
        CONSENTQL_WEBHOOK_RETRY_SCHEDULE: '5x',
        CONSENTQL_HMAC_KEYS: 'nokey',
      }),
    ).toThrow(
      /CONSENTQL_ROLE: .*; CONSENTQL_WEBHOOK_RETRY_SCHEDULE: .*"5x".*; CONSENTQL_WEBHOOK_TIMEOUT: .*"soon".*; CONSENTQL_HMAC_KEYS: .*no ":"/,
    );
  });

  it('asks a worker for what it uses, and checks the NATS sink settings together', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://db.internal/consentql',
      CONSENTQL_HMAC_KEYS: `k1:${'s'.repeat(40)}`,
    };
    // A worker records no consent, so it needs no proof key; an API instance does.
    expect(loadConfig({ ...production, CONSENTQL_ROLE: 'worker' }).role).toBe('worker');
    expect(() => loadConfig({ ...production, CONSENTQL_ROLE: 'api' })).toThrow(/CONSENTQL_PROOF_KEY: is required in production/);
    expect(loadConfig({ CONSENTQL_ROLE: 'api' }).propagation.dispatch).toBe(false);
    expect(loadConfig({}).nats).toBeNull();
    expect(loadConfig({ CONSENTQL_NATS_URL: 'nats://127.0.0.1:4222, nats.internal:4222' }).nats).toMatchObject({
      servers: ['nats://127.0.0.1:4222', 'nats.internal:4222'],
      stream: 'CONSENTQL_CHANGES',
      subjectPrefix: 'consentql.changes',
      duplicateWindowMs: 120_000,
      publishTimeoutMs: 5_000,
    });
    expect(() => loadConfig({ CONSENTQL_NATS_URL: 'nats://127.0.0.1:4222', CONSENTQL_NATS_DUPLICATE_WINDOW: '10s' })).toThrow(
      /CONSENTQL_NATS_DUPLICATE_WINDOW: must be at least 15000 ms/,
    );
    expect(() => loadConfig({ CONSENTQL_NATS_URL: 'http://x/y', CONSENTQL_NATS_SUBJECT_PREFIX: 'a.*' })).toThrow(
      /CONSENTQL_NATS_URL: .*; CONSENTQL_NATS_SUBJECT_PREFIX: /,
    );
  });

  it('documents every setting in docs/DEPLOYMENT.md, and nothing else', () => {
    const doc = readFileSync(new URL('../../docs/DEPLOYMENT.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...SETTINGS].sort());
  });
});
