import { natsAnswers } from './process-support.ts';
import { randomUUID } from 'node:crypto';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { NatsSink, type Publisher } from '../../src/propagation/nats-sink.ts';
import { noticeOf } from '../../src/propagation/notice.ts';
import type { NatsSinkOptions } from '../../src/propagation/nats-options.ts';
import { messageBody } from '../../src/propagation/webhooks.ts';
import type { ConsentChangePayload } from '../../src/consent/types.ts';
import { poolSize, testMasker } from '../support/app.ts';
import { emptyDatabase, type ScratchDatabase } from '../support/scratch.ts';
import { until } from './support.ts';

// The NATS JetStream sink against the real NATS server (CONSENTQL_TEST_NATS_URL,
// default nats://127.0.0.1:4222, with JetStream), on both databases: every
// change published once to <prefix>.<purpose> with the webhook's notice, a
// failed publish published again and nothing skipped, and a sink that dies
// after JetStream acknowledged but before it recorded its progress publishes
// again on restart, deduplicated by message id, so a consumer sees each
// change once.

const NATS_URL = process.env.CONSENTQL_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const reachable = await natsAnswers(NATS_URL);
if (!reachable) {
  console.warn(
    `SKIPPED: the NATS sink tests need a NATS server with JetStream at ${NATS_URL} (set CONSENTQL_TEST_NATS_URL), and none answered. ` +
      'Start one with: nats-server -js -a 127.0.0.1 -p 4222',
  );
}

const logger = pino({ level: process.env.NATS_DEBUG ? 'debug' : 'silent' });
const masker = testMasker();
const tag = `t${process.pid}${randomUUID().slice(0, 6)}`;

describe.runIf(reachable)('NATS JetStream sink', () => {
  let scratch: ScratchDatabase;
  let db: Database;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let options: NatsSinkOptions;
  let round = 0;

  beforeAll(async () => {
    scratch = await emptyDatabase('consentql_nats');
    db = await openDatabase({ databaseUrl: scratch.url, poolSize: poolSize() });
    await migrate(db.pool);
    nc = await connect({ servers: NATS_URL });
    jsm = await nc.jetstreamManager();
  });

  afterAll(async () => {
    await db?.close();
    await scratch?.drop();
    for (const name of await jsm.streams
      .names()
      .next()
      .catch(() => [] as string[])) {
      if (name.startsWith(`CONSENTQL_TEST_${tag}`)) await jsm.streams.delete(name).catch(() => {});
    }
    await nc?.close();
  });

  beforeEach(async () => {
    // A stream, subjects and cursor of each test's own.
    round++;
    options = {
      servers: [NATS_URL],
      stream: `CONSENTQL_TEST_${tag}_${round}`,
      subjectPrefix: `consentql.test.${tag}.r${round}`,
      duplicateWindowMs: 120_000,
      publishTimeoutMs: 2000,
    };
  });

  /** `n` consent changes in the outbox, as the ledger writes them; their payloads in id order. */
  async function changes(n: number, purpose = 'marketing'): Promise<{ id: string; payload: ConsentChangePayload }[]> {
    const made: { id: string; payload: ConsentChangePayload }[] = [];
    for (let i = 0; i < n; i++) {
      const payload: ConsentChangePayload = {
        eventId: String(1000 + i),
        customerId: randomUUID(),
        externalId: `CRM-${i}`,
        purpose,
        purposeVersion: 1,
        action: i % 2 ? 'WITHDRAW' : 'GRANT',
        regime: 'GDPR',
        sensitive: false,
        source: 'API',
        noticeVersion: 'v1',
        expiresAt: null,
        recordedAt: new Date().toISOString(),
      } as ConsentChangePayload;
      const { rows } = await db.pool.query<{ id: string }>(
        `INSERT INTO outbox_event (topic, customer_id, purpose_key, payload, created_at)
         VALUES ('consent.changed', $1, $2, $3, now() AT TIME ZONE 'UTC') RETURNING id::text AS id`,
        [payload.customerId, purpose, payload],
      );
      made.push({ id: rows[0].id, payload });
    }
    return made;
  }

  /** Every message in the stream, in stream order. */
  async function streamed(): Promise<{ subject: string; msgId: string | undefined; body: string }[]> {
    const info = await jsm.streams.info(options.stream).catch(() => null);
    if (!info) return []; // not created yet
    const out: { subject: string; msgId: string | undefined; body: string }[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(options.stream, { seq });
      out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), body: new TextDecoder().decode(m.data) });
    }
    return out;
  }

  const sinkWith = (wrap?: (p: Publisher) => Publisher) =>
    new NatsSink(db, logger, masker, options, { pollIntervalMs: 100, ...(wrap ? { wrapPublisher: wrap } : {}) });

  it('publishes each change once, in order, to <prefix>.<purpose>, with the webhook notice and msg_<outbox id> as its message id', async () => {
    const sink = sinkWith();
    await sink.start(); // from now on: changes made before the first start are not published
    try {
      const made = [...(await changes(5)), ...(await changes(3, 'analytics'))];
      sink.kick();
      const got = await until(streamed, (m) => m.length >= made.length, 10_000);
      expect(got.map((m) => m.msgId)).toEqual(made.map((c) => `msg_${c.id}`));
      expect(got.map((m) => m.subject)).toEqual(made.map((c) => `${options.subjectPrefix}.${c.payload.purpose}`));
      for (const [i, m] of got.entries()) {
        const body = JSON.parse(m.body);
        // The same JSON a webhook subscriber gets for the change: the notice, the subject by its pseudonym under the purpose.
        expect(body.data).toEqual(noticeOf(made[i].payload, masker));
        expect(m.body).toBe(messageBody({ id: m.msgId!, type: 'consent.changed', occurredAt: new Date(body.timestamp), data: body.data }));
        expect(m.body).not.toContain(made[i].payload.customerId);
        expect(m.body).not.toContain(made[i].payload.externalId);
      }
      const { rows } = await db.pool.query(`SELECT position::text AS position FROM propagation_cursor WHERE name = $1`, [
        `nats:${options.stream}`,
      ]);
      expect(rows).toEqual([{ position: made.at(-1)!.id }]);
    } finally {
      await sink.stop();
    }
  });

  it('publishes again what failed, skipping nothing, and each change reaches the stream once', async () => {
    const failOnce = new Set<string>();
    const sink = sinkWith((real) => ({
      async publish(subject, body, msgId, expectLastMsgId) {
        // Every third message fails its first time (as a timeout or a broker outage would), the others go through.
        if (Number(msgId.slice(4)) % 3 === 0 && !failOnce.has(msgId)) {
          failOnce.add(msgId);
          throw new Error('simulated publish failure');
        }
        return real.publish(subject, body, msgId, expectLastMsgId);
      },
    }));
    await sink.start();
    try {
      const made = await changes(12);
      sink.kick();
      const got = await until(streamed, (m) => m.length >= made.length, 15_000);
      await new Promise((r) => setTimeout(r, 300)); // nothing more arrives after
      const all = await streamed();
      expect(failOnce.size).toBeGreaterThan(0);
      // Once each, none lost, in outbox order: what followed a failed message was refused (it expected the failed
      // one as the stream's last) and published again after it.
      expect(all.map((m) => m.msgId)).toEqual(made.map((c) => `msg_${c.id}`));
      expect(got.length).toBe(made.length);
    } finally {
      await sink.stop();
    }
  });

  it('a sink that dies after the acknowledgement, before recording it, republishes on restart without duplicates reaching a consumer', async () => {
    // The first sink's publishes reach JetStream, but it never learns so (as if killed right after): its cursor stays.
    let reached = 0;
    const dying = sinkWith((real) => ({
      async publish(subject, body, msgId, expectLastMsgId) {
        await real.publish(subject, body, msgId, expectLastMsgId);
        reached++;
        throw new Error('killed before recording');
      },
    }));
    await dying.start();
    const made = await changes(10);
    dying.kick();
    await until(
      async () => reached,
      (n) => n >= made.length,
      10_000,
    );
    // Killed: nothing more, not even its lease given up (stop with no grace leaves it to run out).
    await dying.stop(0);
    await db.pool.query(`UPDATE propagation_cursor SET leased_until = now() AT TIME ZONE 'UTC' WHERE name = $1`, [
      `nats:${options.stream}`,
    ]);
    expect(await streamed()).toHaveLength(made.length);

    const restarted = sinkWith();
    await restarted.start();
    try {
      await until(
        async () => restarted.stats().position,
        (p) => p === made.at(-1)!.id,
        10_000,
      );
      // It published all ten again; JetStream recognised every one by its message id.
      expect(restarted.stats()).toMatchObject({ published: 0, duplicates: made.length, position: made.at(-1)!.id });
      const all = await streamed();
      expect(all.map((m) => m.msgId)).toEqual(made.map((c) => `msg_${c.id}`));
      // And what comes next goes on from there.
      const more = await changes(2);
      restarted.kick();
      const after = await until(streamed, (m) => m.length >= made.length + more.length, 10_000);
      expect(after.map((m) => m.msgId)).toEqual([...made, ...more].map((c) => `msg_${c.id}`));
    } finally {
      await restarted.stop();
    }
  });

  it('one worker at a time publishes: a second sink waits for the lease, and takes over when the first stops', async () => {
    const first = sinkWith();
    const second = sinkWith();
    await first.start();
    await second.start();
    try {
      const made = await changes(6);
      first.kick();
      second.kick();
      await until(streamed, (m) => m.length >= made.length, 10_000);
      expect([first.stats().holding, second.stats().holding].filter(Boolean)).toHaveLength(1);
      const holder = first.stats().holding ? first : second;
      const other = holder === first ? second : first;
      await holder.stop();
      const more = await changes(3);
      other.kick();
      const all = await until(streamed, (m) => m.length >= made.length + more.length, 10_000);
      expect(all.map((m) => m.msgId)).toEqual([...made, ...more].map((c) => `msg_${c.id}`));
      expect(other.stats().holding).toBe(true);
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});
