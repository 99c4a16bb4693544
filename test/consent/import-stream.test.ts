import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { eventLine, IMPORT_PATH, importLines, ndjson, RECORDER_HEADERS } from './import-support.ts';
import { createSubject } from './support.ts';

// The body streams: it is read as fast as the batches are written and no
// faster, it is cut off at its size limit, and a line the database refuses,
// or a database that fails, never costs the other lines what they are owed.

const encoder = new TextEncoder();

/** A body produced on demand, `perChunk` lines per chunk, counting the lines handed over. */
function lazyBody(lines: readonly string[], perChunk: number) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= lines.length) return controller.close();
        const chunk = lines.slice(pulled, pulled + perChunk);
        pulled += chunk.length;
        controller.enqueue(encoder.encode(`${chunk.join('\n')}\n`));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

describe('streaming', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { CONSENTQL_IMPORT_BATCH_SIZE: '50' } });
  });
  afterAll(() => app.close());

  it('reads the body no faster than batches are written (bounded memory, backpressure)', async () => {
    const subjects = await Promise.all(Array.from({ length: 4 }, () => createSubject(app.db, { country: 'DE' })));
    const start = Date.UTC(2024, 0, 1);
    const lines = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify(eventLine({ id: subjects[i % 4].id }, { recordedAt: new Date(start + i * 60_000).toISOString() })),
    );
    const lineBytes = lines[0].length + 1;
    const body = lazyBody(lines, 10);
    let committed = 0;
    let maxAhead = 0;
    const stop = app.db.signals.consentRecorded.on((events) => {
      // Lines handed over but not yet written, when a batch commits.
      maxAhead = Math.max(maxAhead, body.pulled() - committed);
      committed += events.length;
    });
    const { status, body: report } = await importLines(app, body.stream);
    stop();
    expect(status).toBe(200);
    expect(report).toMatchObject({ lines: 5000, recorded: 5000, rejected: 0, complete: true });
    // The batch being written, the next one being read, and what the stream stages between the client and
    // the import buffer (a bounded number of bytes each): far from the 5,000 lines (about a megabyte) sent.
    expect(maxAhead).toBeGreaterThanOrEqual(50);
    expect(maxAhead * lineBytes).toBeLessThanOrEqual(2 * 50 * lineBytes + 256 * 1024);
  });

  it('handles lines split across chunks, CRLF line ends, a byte-order mark and a last line without a newline', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const text = `\uFEFF${JSON.stringify(eventLine({ id: subject.id }))}\r\n\r\n${JSON.stringify(eventLine({ id: subject.id }, { purpose: 'analytics' }))}`;
    const bytes = encoder.encode(text);
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(at, at + 7));
        at += 7;
      },
    });
    const { body } = await importLines(app, stream);
    expect(body).toMatchObject({ lines: 2, recorded: 2, rejected: 0, lastLine: 3 });
  });
});

describe('size limit', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { CONSENTQL_IMPORT_BATCH_SIZE: '4', CONSENTQL_MAX_IMPORT_BYTES: '3000' } });
  });
  afterAll(() => app.close());

  it('refuses a body that declares more than the limit before reading it', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const text = ndjson(Array.from({ length: 30 }, () => eventLine({ id: subject.id })));
    const response = await app.fetch(IMPORT_PATH, {
      method: 'POST',
      headers: { ...RECORDER_HEADERS, 'content-length': String(encoder.encode(text).length) },
      body: text,
    });
    expect(response.status).toBe(413);
    expect((await response.json()).errors[0].extensions).toEqual({ code: 'PAYLOAD_TOO_LARGE', limit: 3000 });
    expect(await app.db.prisma.consentEvent.count({ where: { customerId: subject.id } })).toBe(0);
  });

  it('stops a streamed body at the limit: the whole lines before it are handled and reported, nothing after', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const lines = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify(eventLine({ id: subject.id }, { recordedAt: new Date(Date.UTC(2024, 0, 1 + i)).toISOString() })),
    );
    const { status, body } = await importLines(app, lazyBody(lines, 1).stream);
    expect(status).toBe(413);
    // The lines read before the body passed the limit (those still in the pipes when it did are dropped with the rest).
    const whole = Math.floor(3000 / (lines[0].length + 1));
    const handled = body.lastLine;
    expect(handled).toBeGreaterThan(0);
    expect(handled).toBeLessThanOrEqual(whole);
    expect(body).toMatchObject({ lines: handled, recorded: handled, rejected: 0, complete: false });
    expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.error.message).toContain(`Lines up to ${handled} are recorded or rejected as this report says, nothing after.`);
    expect(await app.db.prisma.consentEvent.count({ where: { customerId: subject.id } })).toBe(handled);
    // The next lines, sent as another import within the limit, go on from there.
    const next = lines.slice(handled, handled + whole - 1);
    const rest = await importLines(app, ndjson(next));
    expect(rest.body).toMatchObject({ recorded: next.length, complete: true });
  });
});

describe('database refusals and failures', () => {
  let app: TestApp;
  const tag = randomUUID().slice(0, 8);
  beforeAll(async () => {
    app = await createTestApp({ env: { CONSENTQL_IMPORT_BATCH_SIZE: '5' } });
    // Stands in for what the checks before the write cannot foresee: a line the database refuses
    // (a constraint), and a database that fails (any other error). Only this file's references trip it.
    await app.db.pool.query(`
      CREATE OR REPLACE FUNCTION import_test_trip_${tag}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.proof_reference = 'refuse-${tag}' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF;
        IF NEW.proof_reference = 'fail-${tag}' THEN RAISE EXCEPTION 'failed' USING ERRCODE = 'internal_error'; END IF;
        RETURN NEW;
      END $$`);
    await app.db.pool.query(
      `CREATE TRIGGER import_test_trip_${tag} BEFORE INSERT ON consent_event FOR EACH ROW EXECUTE FUNCTION import_test_trip_${tag}()`,
    );
  });
  afterAll(async () => {
    await app.db.pool.query(`DROP TRIGGER IF EXISTS import_test_trip_${tag} ON consent_event`);
    await app.db.pool.query(`DROP FUNCTION IF EXISTS import_test_trip_${tag}()`);
    await app.close();
  });

  it('rejects the line the database refuses and records the rest of its batch', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const lines = Array.from({ length: 9 }, (_, i) =>
      eventLine(
        { id: subject.id },
        { purpose: i % 2 ? 'marketing' : 'analytics', proof: { reference: i === 3 ? `refuse-${tag}` : `ok-${i}` } },
      ),
    );
    const { status, body } = await importLines(app, ndjson(lines));
    expect(status).toBe(200);
    expect(body).toMatchObject({ lines: 9, recorded: 8, rejected: 1, complete: true });
    expect(body.rejections).toEqual([
      {
        line: 4,
        eventId: lines[3].eventId,
        code: 'REJECTED_BY_DATABASE',
        message: 'The database refused this event (SQLSTATE 23514). Nothing was recorded for this line; check its values.',
      },
    ]);
    const { rows } = await app.db.pool.query(
      `SELECT (SELECT count(*) FROM consent_event WHERE customer_id = $1)::int AS events,
              (SELECT count(*) FROM consent_idempotency i JOIN consent_event e ON e.id = i.event_id WHERE e.customer_id = $1)::int AS keys`,
      [subject.id],
    );
    expect(rows[0]).toEqual({ events: 8, keys: 8 });
    // Sent again once the cause is gone, the refused line is recorded and the others are duplicates.
    const again = await importLines(app, ndjson([...lines.slice(0, 3), { ...lines[3], proof: { reference: 'fixed' } }, ...lines.slice(4)]));
    expect(again.body).toMatchObject({ recorded: 1, duplicates: 8, rejected: 0 });
  });

  it('stops when the database fails: the report says up to which line everything was handled', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const lines = Array.from({ length: 12 }, (_, i) =>
      eventLine(
        { id: subject.id },
        { proof: { reference: i === 6 ? `fail-${tag}` : `ok-${i}` }, recordedAt: new Date(Date.UTC(2024, 1, 1 + i)).toISOString() },
      ),
    );
    const { status, body } = await importLines(app, ndjson(lines));
    expect(status).toBe(503);
    expect(body).toMatchObject({ lines: 5, recorded: 5, rejected: 0, lastLine: 5, complete: false });
    expect(body.error.code).toBe('CONSENT_UNAVAILABLE');
    expect(await app.db.prisma.consentEvent.count({ where: { customerId: subject.id } })).toBe(5);
  });
});
