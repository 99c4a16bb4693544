import { connect } from 'nats';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  graphql,
  killAll,
  natsAnswers,
  newSubjects,
  scratchDatabase,
  startApi,
  startSlowReceiver,
  startWorker,
  stopProc,
  type Proc,
} from './process-support.ts';
import { until } from './support.ts';

// Issue #10, scale-out: API processes (CONSENTQL_ROLE=api, no delivery) and
// delivery workers (src/worker.ts) as separate processes on one PostgreSQL.
// Under a stream of consent changes spread over three API instances, two
// workers share the webhook deliveries to two endpoints; one worker is killed
// with SIGKILL mid-stream. Every change reaches every endpoint (no loss), and
// each webhook-id arrives once, except the few the killed worker had sent
// without recording: those arrive again, with the same webhook-id, which is
// what receivers deduplicate on. PostgreSQL only (several processes on one
// database); a scratch database of its own.

const external = process.env.TEST_DATABASE_URL;
// The workers also publish to NATS JetStream when a server answers there (nats-sink.test.ts tests the sink on its own).
const NATS_URL = process.env.CONSENTQL_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const natsUp = await natsAnswers(NATS_URL);
const STREAM = `CONSENTQL_SCALE_OUT_${process.pid}`;

const CHOICE = (name: string) => `mutation($input: ConsentChoiceInput!) { ${name}(input: $input) { events { id } } }`;
const SUBJECTS = 150;
const RATE = 60; // changes per second, open loop
const CONCURRENCY = 8; // per worker
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describe.runIf(external)('scale-out: 3 API processes and 2 delivery workers on one PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;

  beforeAll(async () => {
    db = await scratchDatabase(external!, 'consentql_scaleout');
  }, 60_000);

  afterAll(async () => {
    killAll();
    await db?.drop();
  });

  it('delivers every change once per endpoint by webhook-id, and loses none when a worker is killed mid-stream', async () => {
    // Endpoint A answers slowly: one worker's slots for it (CONCURRENCY / 2) cannot keep up with RATE alone, so both workers send to it.
    const receivers = [await startSlowReceiver(100), await startSlowReceiver(10)];
    const workerEnv = {
      CONSENTQL_WEBHOOK_TIMEOUT: '2s', // lease: 2 × 2 s + 1 s
      CONSENTQL_WEBHOOK_RETRY_SCHEDULE: '200ms,500ms,1s,2s,5s',
      CONSENTQL_WEBHOOK_CONCURRENCY: String(CONCURRENCY),
      CONSENTQL_SHUTDOWN_TIMEOUT: '5000',
      ...(natsUp
        ? {
            CONSENTQL_NATS_URL: NATS_URL,
            CONSENTQL_NATS_STREAM: STREAM,
            CONSENTQL_NATS_SUBJECT_PREFIX: `consentql.scaleout${process.pid}`,
            CONSENTQL_NATS_PUBLISH_TIMEOUT: '1s',
          }
        : {}),
    };
    if (!natsUp) console.warn(`NATS not reachable at ${NATS_URL}: the workers run without the NATS sink in this test`);
    const [apis, workers] = await Promise.all([
      Promise.all([0, 1, 2].map(() => startApi(db.url, { CONSENTQL_ROLE: 'api' }))),
      Promise.all([0, 1].map(() => startWorker(db.url, workerEnv))),
    ]);
    const health = async (worker: Proc) => (await (await fetch(`${worker.url}/readyz`)).json()) as any;
    try {
      const secrets: string[] = [];
      for (const receiver of receivers) {
        const created = await graphql(
          apis[0],
          `mutation($url: String!) { createWebhookSubscription(url: $url, purposes: ["marketing"]) { secret } }`,
          { url: receiver.url },
          'schema-admin',
        );
        expect(created.errors).toBeUndefined();
        secrets.push(created.data.createWebhookSubscription.secret);
      }
      const subjects = await newSubjects(db.pool, SUBJECTS);
      // Each subject opts in, later opts out: 2 changes each, sent round-robin to the API instances.
      const changes = [...subjects.map((id) => ['grantConsent', id] as const), ...subjects.map((id) => ['withdrawConsent', id] as const)];

      const t0 = Date.now();
      let killedStats: any = null;
      let victim = 0;
      const sent: Promise<any>[] = [];
      for (const [i, [mutation, id]] of changes.entries()) {
        const wait = t0 + (i * 1000) / RATE - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const input = {
          subject: { id },
          purposes: ['marketing'],
          source: 'CONSENT_CENTER',
          ...(mutation === 'grantConsent' ? { noticeVersion: 'v1' } : {}),
        };
        sent.push(graphql(apis[i % apis.length], CHOICE(mutation), { input }, 'consent-center', { 'x-purpose': 'consent_management' }));
        if (i === Math.floor(changes.length / 3)) {
          // The worker with more attempts under way is killed in the middle of them.
          const stats = await Promise.all(workers.map(async (w) => (await health(w)).webhooks));
          victim = stats[0].inFlight >= stats[1].inFlight ? 0 : 1;
          killedStats = stats[victim];
          workers[victim].child.kill('SIGKILL');
        }
      }
      const results = await Promise.all(sent);
      expect(results.filter((r) => r.errors)).toEqual([]);
      const streamMs = Date.now() - t0;

      // Every change is in the outbox once; its webhook-id is msg_<outbox id>.
      const { rows } = await db.pool.query<{ id: string }>(`SELECT o.id::text AS id FROM outbox_event o ORDER BY o.id`);
      expect(rows).toHaveLength(changes.length);
      const expected = rows.map((r) => `msg_${r.id}`);

      const complete = () => receivers.every((r) => expected.every((id) => r.arrivals.some((a) => a.id === id)));
      await until(
        async () => complete(),
        (done) => done,
        30_000,
      );
      const settled = await until(
        async () => (await db.pool.query(`SELECT status, count(*)::int AS n FROM webhook_delivery GROUP BY status`)).rows,
        (statuses) => statuses.length === 1 && statuses[0].status === 'DELIVERED',
        15_000,
      );
      expect(settled).toEqual([{ status: 'DELIVERED', n: 2 * changes.length }]);
      const survivor = (await health(workers[1 - victim])).webhooks;

      const duplicates: string[] = [];
      for (const receiver of receivers) {
        // None lost: every change reached every endpoint.
        expect(new Set(receiver.arrivals.map((a) => a.id))).toEqual(new Set(expected));
        const byId = new Map<string, number[]>();
        for (const a of receiver.arrivals) byId.set(a.id, [...(byId.get(a.id) ?? []), a.at]);
        for (const [id, at] of byId) if (at.length > 1) duplicates.push(id);
        // Signed (Standard Webhooks), a notice naming the subject by its pseudonym only.
        const sample = receiver.arrivals[receiver.arrivals.length - 1];
        expect((new Webhook(secrets[receivers.indexOf(receiver)]).verify(sample.body, sample.headers) as any).data.purpose).toBe(
          'marketing',
        );
        expect(receiver.arrivals.some((a) => UUID.test(a.body))).toBe(false);
      }
      console.log(
        `scale-out: ${changes.length} changes in ${streamMs} ms over 3 API processes, 2 endpoints; ` +
          `killed worker had delivered ${killedStats?.delivered} (${killedStats?.inFlight} in flight) when killed, the survivor ${survivor.delivered}; ` +
          `${duplicates.length} webhook-ids arrived again (an attempt not recorded: the killed worker's, or one that timed out)`,
      );
      // Both workers took part: the killed one was killed in the middle of attempts.
      expect(killedStats.inFlight + killedStats.delivered).toBeGreaterThan(0);
      expect(survivor.delivered).toBeGreaterThan(0);
      // No two workers ever sent one claim: every arrival is an attempt of its own, claimed (and counted) in the
      // database before it was sent. A webhook-id arrives again only after an attempt whose outcome was not
      // recorded: the killed worker's (its lease ran out), or one that timed out.
      const attempts = await db.pool.query<{ url: string; id: string; attempts: number }>(
        `SELECT s.url, 'msg_' || d.outbox_event_id AS id, d.attempts FROM webhook_delivery d JOIN webhook_subscription s ON s.id = d.subscription_id`,
      );
      const claimed = new Map(attempts.rows.map((r) => [`${r.url} ${r.id}`, r.attempts]));
      for (const receiver of receivers) {
        const arrivals = new Map<string, number>();
        for (const a of receiver.arrivals) arrivals.set(a.id, (arrivals.get(a.id) ?? 0) + 1);
        const unclaimed = [...arrivals].filter(([id, n]) => n > (claimed.get(`${receiver.url} ${id}`) ?? 0));
        expect(unclaimed).toEqual([]);
      }

      if (natsUp) {
        // The stream got every change once, in outbox order, whichever worker held the sink when one was killed.
        const nc = await connect({ servers: NATS_URL });
        try {
          const jsm = await nc.jetstreamManager();
          const read = async () => {
            const info = await jsm.streams.info(STREAM).catch(() => null);
            const ids: (string | undefined)[] = [];
            for (let seq = info?.state.first_seq ?? 1; info && info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
              ids.push((await jsm.streams.getMessage(STREAM, { seq })).header?.get('Nats-Msg-Id'));
            }
            return ids;
          };
          expect(await until(read, (ids) => ids.length >= expected.length, 20_000)).toEqual(expected);
          await jsm.streams.delete(STREAM);
        } finally {
          await nc.close();
        }
      }

      // The survivor shuts down cleanly on SIGTERM.
      expect(await stopProc(workers[1 - victim])).toEqual({ code: 0, signal: null });
    } finally {
      await Promise.all([...apis, ...workers].map((p) => stopProc(p)));
      for (const r of receivers) await r.close();
    }
  }, 90_000);
});
