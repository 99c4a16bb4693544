import { DAY, HOUR, MINUTE, NOW } from './constants.ts';
import { marketingWindows } from './consents.ts';
import { TOPICS, type TopicContext, type TopicKey } from './conversations.ts';
import { churnFor, riskBand, type CustomerProfile } from './customers.ts';
import type { Dataset } from './dataset.ts';
import { iso, money, pgTextArray } from './format.ts';
import type { PendingEvent } from './ledger.ts';
import type { PersonaSpec } from './personas.ts';
import type { Rng } from './random.ts';
import { CAMPAIGNS, CURRENCY_RATE, EVERYDAY_PRODUCTS, PRODUCTS, type Product } from './reference-data.ts';

// What a customer did: orders, support tickets, the marketing they received
// (only while their consent allowed it), web events, and finally their CRM row.

export function addActivity(
  rng: Rng,
  ds: Dataset,
  c: CustomerProfile,
  events: readonly Omit<PendingEvent, 'seq'>[],
  persona?: PersonaSpec,
): void {
  const currency = c.profile?.currency ?? 'USD';
  const rate = CURRENCY_RATE[currency];
  const price = (eur: number) => (currency === 'JPY' ? Math.round(eur * rate) : Math.round(eur * rate * 100) / 100);
  const ctxFirst = c.first;

  // Orders and items.
  const [minOrders, maxOrders] =
    c.segment === 'new'
      ? [0, 2]
      : c.segment === 'loyal'
        ? [2, 5]
        : c.segment === 'vip'
          ? [3, 5]
          : c.segment === 'at_risk'
            ? [1, 4]
            : [0, 2];
  const orderCount = Math.max(rng.int(minOrders, maxOrders), persona ? 1 : 0);
  const placedTo = c.segment === 'dormant' ? NOW - 200 * DAY : NOW - DAY;
  const orders: { id: string; number: string; placedAt: number; product: string }[] = [];
  let lifetime = 0;
  for (let k = 0; k < orderCount; k++) {
    const id = rng.uuid();
    const placedAt = rng.time(c.createdAt + HOUR, Math.max(placedTo, c.createdAt + 2 * HOUR));
    const age = NOW - placedAt;
    const status =
      age < 3 * DAY
        ? 'processing'
        : age < 10 * DAY
          ? 'shipped'
          : rng.weighted([
              ['delivered', 88],
              ['returned', 6],
              ['cancelled', 6],
            ]);
    const number = `SO-${new Date(placedAt).getUTCFullYear()}-${String(++ds.orderCounter).padStart(6, '0')}`;
    const itemCount = rng.weighted([
      [1, 40],
      [2, 30],
      [3, 20],
      [4, 10],
    ]);
    const chosen = new Set<Product>();
    while (chosen.size < itemCount) {
      const healthy = c.healthInterests.length > 0 && rng.chance(0.35);
      const candidates = healthy ? PRODUCTS.filter((p) => p.health && c.healthInterests.includes(p.health)) : EVERYDAY_PRODUCTS;
      chosen.add(rng.pick(candidates.length > 0 ? candidates : EVERYDAY_PRODUCTS));
    }
    let total = 0;
    for (const p of chosen) {
      const qty = rng.weighted([
        [1, 80],
        [2, 15],
        [3, 5],
      ]);
      const unit = price(p.price);
      total += unit * qty;
      ds.order_item.push(rng.uuid(), id, c.id, p.sku, p.name, qty, money(unit));
    }
    total = Math.round(total * 100) / 100;
    if (status !== 'cancelled' && status !== 'returned') lifetime += total;
    ds.order.push(id, c.id, number, status, currency, money(total), iso(placedAt));
    orders.push({ id, number, placedAt, product: [...chosen][0].name });
  }
  orders.sort((a, b) => a.placedAt - b.placedAt);

  // Support tickets with conversations.
  const ticketCount = Math.max(
    rng.weighted([
      [0, 55],
      [1, 35],
      [2, 10],
    ]),
    persona ? 1 : 0,
  );
  for (let k = 0; k < ticketCount; k++) {
    let topic: TopicKey =
      k === 0 && persona?.ticketTopic
        ? persona.ticketTopic
        : c.healthInterests.length > 0 && rng.chance(0.35)
          ? 'health'
          : rng.weighted<TopicKey>([
              ['delivery', 30],
              ['refund', 20],
              ['size', 20],
              ['damaged', 10],
              ['address', 8],
              ['account', 12],
            ]);
    // Only orders old enough for the whole conversation to lie in the past.
    const settled = orders.filter((o) => o.placedAt < NOW - 12 * DAY);
    if (TOPICS[topic].needsOrder && settled.length === 0) topic = 'account';
    const order = settled.length > 0 ? rng.pick(settled) : undefined;
    const ctx: TopicContext = {
      first: ctxFirst,
      order: order?.number ?? '',
      product: order?.product ?? 'item',
      interest: c.healthInterests[0] ?? 'sleep',
    };
    const from = TOPICS[topic].needsOrder && order ? order.placedAt + HOUR : c.createdAt + HOUR;
    const openedAt = rng.time(from, Math.max(from, Math.min(from + 40 * DAY, NOW - 10 * DAY)));
    const lines = TOPICS[topic].lines(ctx);
    const count = rng.int(2, Math.min(6, lines.length));
    const closed = NOW - openedAt > 14 * DAY ? rng.chance(0.95) : rng.chance(0.3);
    const ticketId = rng.uuid();
    let at = openedAt;
    const messageRows: unknown[][] = [];
    for (let m = 0; m < count; m++) {
      if (m > 0) at += lines[m][0] === 'agent' ? rng.int(5, 600) * MINUTE : rng.int(10, 1440) * MINUTE;
      messageRows.push([rng.uuid(), ticketId, c.id, lines[m][0], lines[m][1], iso(at)]);
    }
    const channel = rng.weighted([
      ['email', 40],
      ['chat', 25],
      ['chatbot', 25],
      ['phone', 10],
    ]);
    const status = closed ? 'closed' : lines[count - 1][0] === 'agent' ? 'pending' : 'open';
    ds.support_ticket.push(
      ticketId,
      c.id,
      TOPICS[topic].subject(ctx),
      status,
      channel,
      iso(openedAt),
      closed ? iso(at + rng.int(1, 48) * HOUR) : null,
    );
    for (const row of messageRows) ds.ticket_message.push(...row);
  }

  // Marketing interactions, only while marketing was permitted.
  const interactions: [string, string, number][] = [];
  for (const [from, to, unsubscribed] of marketingWindows(c, events)) {
    if (c.createdAt >= from && c.createdAt + DAY < to) interactions.push(['welcome-series', 'sent', c.createdAt + DAY]);
    let last = 'welcome-series';
    for (const campaign of CAMPAIGNS) {
      const sent = Date.parse(campaign.at);
      if (sent < from || sent >= to || !rng.chance(0.6)) continue;
      last = campaign.key;
      interactions.push([campaign.key, 'sent', sent]);
      if (rng.chance(0.45)) {
        const opened = sent + rng.int(10, 2880) * MINUTE;
        interactions.push([campaign.key, 'opened', opened]);
        if (rng.chance(0.35)) interactions.push([campaign.key, 'clicked', opened + rng.int(1, 30) * MINUTE]);
      }
    }
    if (unsubscribed) interactions.push([last, 'unsubscribed', to]);
  }
  // At most ~10, the latest campaigns kept whole (no click without its send;
  // an unsubscribe, if any, is never dropped).
  const groups: [string, string, number][][] = [];
  for (const row of interactions) {
    const last = groups.at(-1);
    if (last && last[0][0] === row[0] && row[1] !== 'sent') last.push(row);
    else groups.push([row]);
  }
  const budget = rng.int(2, 10);
  const kept: [string, string, number][] = [];
  for (let g = groups.length - 1; g >= 0; g--) {
    if (kept.length > 0 && kept.length + groups[g].length > budget) break;
    kept.unshift(...groups[g]);
  }
  for (const [campaign, kind, at] of kept.sort((a, b) => a[2] - b[2])) {
    if (at <= NOW) ds.marketing_interaction.push(rng.uuid(), c.id, campaign, kind, iso(at));
  }

  // Web events.
  const webCount = Math.max(rng.int(0, 10), persona ? 3 : 0);
  const device = rng.weighted<string | null>([
    ['mobile', 55],
    ['desktop', 35],
    ['tablet', 7],
    [null, 3],
  ]);
  for (let k = 0; k < webCount; k++) {
    const at = rng.time(c.createdAt, NOW - MINUTE);
    const product =
      c.healthInterests.length > 0 && rng.chance(0.3)
        ? rng.pick(PRODUCTS.filter((p) => p.health && c.healthInterests.includes(p.health)).concat(EVERYDAY_PRODUCTS.slice(0, 1)))
        : rng.pick(EVERYDAY_PRODUCTS);
    const [kind, path] = rng.weighted<[string, string]>([
      [['page_view', rng.pick(['/', '/new-in', '/sale', '/women', '/men', '/home-living', '/wellbeing'])], 35],
      [['product_view', `/product/${product.sku.toLowerCase()}`], 30],
      [['search', `/search?q=${encodeURIComponent(product.name.split(' ').slice(-2).join(' ').toLowerCase())}`], 12],
      [['add_to_cart', `/product/${product.sku.toLowerCase()}`], 12],
      [['checkout_started', '/checkout'], 6],
      [['account_view', '/account/privacy'], 5],
    ]);
    ds.web_event.push(rng.uuid(), c.id, kind, path, rng.chance(0.9) ? device : rng.pick(['mobile', 'desktop']), iso(at));
  }

  // The customer row itself.
  const churn = churnFor(rng, c.segment);
  const bonus = c.segment === 'vip' ? rng.float(500, 3000) : c.segment === 'loyal' ? rng.float(50, 800) : 0;
  const ltv = Math.round((lifetime + price(bonus)) * 100) / 100;
  const hasAddress = c.place !== undefined && c.profile !== undefined && !(persona === undefined && rng.chance(0.04));
  const street = hasAddress ? c.profile!.address(rng, rng.pick(c.profile!.streets)) : null;
  const city = hasAddress ? c.place!.city : null;
  const postal = hasAddress ? rng.digits(c.place!.postal) : null;
  // Unknown country: an international number, when there is one at all.
  const phonePattern = c.place?.phone ?? c.profile?.phone ?? rng.pick(['+44 7### ######', '+61 4## ### ###', '+1 2##-555-01##']);
  const phone = persona || rng.chance(c.country ? 0.85 : 0.5) ? rng.digits(phonePattern) : null;
  const updatedAt = rng.time(c.createdAt, NOW - HOUR);
  ds.customer.push(
    c.id,
    c.externalId,
    c.email,
    phone,
    c.first,
    c.last,
    c.birthDate,
    street,
    city,
    postal,
    c.region,
    c.country,
    c.language,
    c.segment,
    money(ltv),
    churn,
    riskBand(churn),
    pgTextArray(c.healthInterests),
    c.preciseLocation,
    iso(c.createdAt),
    iso(updatedAt),
  );
}
