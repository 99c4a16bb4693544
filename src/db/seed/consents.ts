import type { PurposeKey } from '../../policy/taxonomy.ts';
import type { ConsentAction } from '../../policy/types.ts';
import { DAY, HOUR, MINUTE, NOW, YEAR } from './constants.ts';
import type { CustomerProfile } from './customers.ts';
import { sha256 } from './format.ts';
import type { ConsentSource, PendingEvent } from './ledger.ts';
import type { Rng } from './random.ts';
import { GPC_USER_AGENTS, USER_AGENTS } from './reference-data.ts';

/** One consent history per customer, by regime. Returns the events in time order. */
export function makeConsents(rng: Rng, c: CustomerProfile): Omit<PendingEvent, 'seq'>[] {
  const events: Omit<PendingEvent, 'seq'>[] = [];
  const browserUa = rng.pick(USER_AGENTS);
  const ip = `${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  const add = (
    purposeKey: PurposeKey,
    action: ConsentAction,
    source: ConsentSource,
    at: number,
    opts: { sensitive?: boolean; expiresAt?: number | null } = {},
  ) => {
    const proof =
      source === 'CRM'
        ? { ipHash: null, userAgent: null }
        : source === 'CHATBOT'
          ? { ipHash: sha256(ip), userAgent: 'support-chatbot/2.3' }
          : source === 'API'
            ? { ipHash: sha256(ip), userAgent: rng.chance(0.5) ? browserUa : 'shop-app/5.12 (iOS 18.0)' }
            : source === 'GPC'
              ? { ipHash: sha256(ip), userAgent: rng.pick(GPC_USER_AGENTS) }
              : { ipHash: sha256(ip), userAgent: browserUa };
    events.push({
      customerId: c.id,
      purposeKey,
      action,
      source,
      regime: c.regime,
      sensitive: opts.sensitive ?? false,
      at,
      expiresAt: opts.expiresAt ?? null,
      ...proof,
    });
  };
  const start = c.createdAt + MINUTE;
  const signup = () => c.createdAt + rng.int(1, 20) * MINUTE;
  const someTime = (from = start, to = NOW - DAY) => rng.time(from, to);
  // Analytics consent mostly comes from the cookie banner (API); a marketing
  // grant often from a double opt-in link.
  const grantSource = (purposeKey: PurposeKey): ConsentSource =>
    rng.weighted([
      ['CONSENT_CENTER', 50],
      ['API', purposeKey === 'analytics' ? 60 : 15],
      ['CRM', 15],
      ['EMAIL_LINK', purposeKey === 'marketing' ? 20 : 0],
      ['CHATBOT', 5],
    ]);
  const withdrawSource = (purposeKey: PurposeKey): ConsentSource =>
    purposeKey === 'marketing' && rng.chance(0.7)
      ? 'EMAIL_LINK'
      : rng.weighted([
          ['CONSENT_CENTER', 75],
          ['CHATBOT', 15],
          ['CRM', 10],
        ]);

  const optIn = c.regime === 'GDPR' || c.regime === 'NONE';
  if (optIn) {
    // Opt-in regimes: grants, withdrawals, expiries and people never asked.
    const scale = c.regime === 'NONE' ? 0.6 : 1;
    const rates: Partial<Record<PurposeKey, [grant: number, withdrawn: number, expired: number]>> = {
      marketing: [0.4, 0.1, 0.04],
      analytics: [0.45, 0.05, 0.08],
      personalization: [0.3, 0.06, 0.03],
      ad_sharing: [0.14, 0.05, 0.02],
      ai_training: [0.13, 0.02, 0.01],
    };
    for (const [key, [g, w, e]] of Object.entries(rates) as [PurposeKey, [number, number, number]][]) {
      const r = rng.float();
      // Analytics consent (cookie banner) lasts 13 months; the others until withdrawn.
      const lifetime = key === 'analytics' ? 395 * DAY : null;
      if (r < g * scale) {
        let at = rng.chance(0.5) ? signup() : someTime();
        if (lifetime) at = Math.max(at, rng.time(NOW - 330 * DAY, NOW - DAY));
        if (lifetime && at - lifetime > start && rng.chance(0.3)) {
          // An earlier grant that expired, then renewed.
          const old = at - lifetime - rng.int(5, 60) * DAY;
          if (old > start) add(key, 'GRANT', 'API', old, { expiresAt: old + lifetime });
        }
        add(key, 'GRANT', grantSource(key), at, { expiresAt: lifetime ? at + lifetime : null });
      } else if (r < (g + w) * scale) {
        const at = rng.chance(0.5) ? signup() : someTime(start, NOW - 30 * DAY);
        const until = someTime(at + HOUR, NOW - DAY);
        add(key, 'GRANT', grantSource(key), at, { expiresAt: lifetime ? at + lifetime : null });
        if (until > at) add(key, 'WITHDRAW', withdrawSource(key), until);
        if (until > at && rng.chance(0.15)) {
          const again = someTime(until + HOUR, NOW - HOUR);
          add(key, 'GRANT', 'CONSENT_CENTER', again, { expiresAt: lifetime ? again + lifetime : null });
        }
      } else if (r < (g + w + e) * scale) {
        // An expired grant, never renewed: 13 months for analytics, 2 years otherwise.
        const life = lifetime ?? 2 * YEAR;
        if (NOW - life - DAY > start) {
          const at = someTime(start, NOW - life - DAY);
          add(key, 'GRANT', grantSource(key), at, { expiresAt: at + life });
        }
      }
    }
    // Explicit consent for special-category data, for those with health interests.
    if (c.healthInterests.length > 0) {
      for (const key of ['personalization', 'marketing'] as const) {
        const grant = events.findLast((e) => e.purposeKey === key && !e.sensitive);
        if (grant?.action === 'GRANT' && rng.chance(key === 'personalization' ? 0.4 : 0.2)) {
          const at = someTime(grant.at + MINUTE, NOW - HOUR);
          add(key, 'GRANT', 'CONSENT_CENTER', at, { sensitive: true, expiresAt: grant.expiresAt });
          if (rng.chance(0.1)) add(key, 'WITHDRAW', 'CONSENT_CENTER', someTime(at + HOUR, NOW - MINUTE), { sensitive: true });
        }
      }
    }
  } else {
    // Opt-out regimes (CCPA, other US states): most people never act.
    const ccpa = c.regime === 'CCPA';
    if (ccpa && !c.minor && rng.chance(0.18)) {
      add('ad_sharing', 'OPT_OUT', 'GPC', someTime());
    } else if (rng.chance(ccpa ? 0.07 : 0.12)) {
      const at = someTime();
      add('ad_sharing', 'OPT_OUT', 'CONSENT_CENTER', at);
      if (rng.chance(0.12)) add('ad_sharing', 'OPT_IN', 'CONSENT_CENTER', someTime(at + DAY, NOW - HOUR));
    }
    const optOutRates: [PurposeKey, number][] = [
      ['marketing', 0.12],
      ['analytics', 0.05],
      ['personalization', 0.06],
    ];
    for (const [key, p] of optOutRates) {
      if (!rng.chance(p)) continue;
      const at = someTime();
      add(key, 'OPT_OUT', key === 'marketing' && rng.chance(0.7) ? 'EMAIL_LINK' : rng.pick(['CONSENT_CENTER', 'CHATBOT'] as const), at);
      if (rng.chance(0.1)) add(key, 'OPT_IN', 'CONSENT_CENTER', someTime(at + DAY, NOW - HOUR));
    }
    const sensitiveData = c.healthInterests.length > 0 || c.preciseLocation !== null;
    if (ccpa && rng.chance(sensitiveData ? 0.2 : 0.06)) {
      // "Limit the use of my sensitive personal information": one click, one event per purpose.
      const at = someTime();
      for (const key of ['marketing', 'analytics', 'personalization', 'ad_sharing'] as const) {
        add(key, 'OPT_OUT', 'CONSENT_CENTER', at, { sensitive: true });
      }
    } else if (!ccpa && sensitiveData && rng.chance(0.25)) {
      // Other US states: sensitive data needs an opt-in.
      const at = someTime();
      add('personalization', 'GRANT', 'CONSENT_CENTER', at, { sensitive: true });
      if (rng.chance(0.4)) add('marketing', 'GRANT', 'CONSENT_CENTER', at, { sensitive: true });
    }
    if (!c.minor && rng.chance(0.16)) {
      const at = someTime();
      add('ai_training', 'GRANT', rng.pick(['CONSENT_CENTER', 'API'] as const), at);
      if (rng.chance(0.1)) add('ai_training', 'WITHDRAW', 'CONSENT_CENTER', someTime(at + HOUR, NOW - HOUR));
    }
  }
  return events.sort((a, b) => a.at - b.at);
}

/** When marketing may have reached this customer: [from, to, ended by an unsubscribe link]. */
export function marketingWindows(c: CustomerProfile, events: readonly Omit<PendingEvent, 'seq'>[]): [number, number, boolean][] {
  const own = events.filter((e) => e.purposeKey === 'marketing' && !e.sensitive);
  const windows: [number, number, boolean][] = [];
  let open: number | null = c.regime === 'CCPA' || c.regime === 'US_STATE' ? c.createdAt : null;
  let expires: number | null = null;
  for (const e of own) {
    if (e.action === 'GRANT' || e.action === 'OPT_IN') {
      if (open === null) open = e.at;
      expires = e.expiresAt;
    } else if (open !== null) {
      windows.push([open, e.at, e.source === 'EMAIL_LINK']);
      open = null;
    }
  }
  if (open !== null) windows.push([open, Math.min(expires ?? NOW, NOW), false]);
  return windows;
}
