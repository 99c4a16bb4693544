import { addActivity } from './activity.ts';
import { makeConsents } from './consents.ts';
import { SEED_NAME } from './constants.ts';
import { makeCustomer, personaCustomer } from './customers.ts';
import { newDataset, type Dataset } from './dataset.ts';
import { sha256 } from './format.ts';
import type { PendingEvent } from './ledger.ts';
import { PERSONA_SPECS } from './personas.ts';
import { Rng } from './random.ts';
import { GPC_USER_AGENTS, USER_AGENTS } from './reference-data.ts';

// Each customer draws from its own PRNG stream (seeded by its index), so the
// first N customers are the same whatever the total.

/** Generates the whole data set in memory (pure: no database, no clock, no Math.random). */
export function generate(customers: number): Dataset {
  const ds = newDataset();
  let seq = 0;
  const record = (events: Omit<PendingEvent, 'seq'>[]) => {
    for (const e of events) ds.events.push({ ...e, seq: seq++ });
  };
  for (const spec of PERSONA_SPECS) {
    const rng = new Rng(`${SEED_NAME}:persona:${spec.externalId}`);
    const c = personaCustomer(rng, spec);
    const ip = `${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    const ua = rng.pick(USER_AGENTS);
    const events: Omit<PendingEvent, 'seq'>[] = spec.consents.map((e) => ({
      customerId: c.id,
      purposeKey: e.purposeKey,
      action: e.action,
      source: e.source,
      regime: c.regime,
      sensitive: e.sensitive ?? false,
      at: Date.parse(e.at),
      expiresAt: e.expiresAt ? Date.parse(e.expiresAt) : null,
      ipHash: e.source === 'CRM' ? null : sha256(ip),
      userAgent: e.source === 'CRM' ? null : e.source === 'GPC' ? GPC_USER_AGENTS[0] : ua,
    }));
    record(events);
    addActivity(rng, ds, c, events, spec);
  }
  for (let i = 1; i <= customers; i++) {
    const rng = new Rng(`${SEED_NAME}:customer:${i}`);
    const c = makeCustomer(rng, i);
    const events = makeConsents(rng, c);
    record(events);
    addActivity(rng, ds, c, events);
  }
  // The ledger in time order, so that ids follow recorded_at as in real life.
  ds.events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return ds;
}
