// Propagation lag (issue 4): consent change → webhook received, and → SSE
// subscription event, at fixed rates of changes per second (open loop: a
// change is sent on schedule whether or not the previous one was answered).
// Written against the API of issue 4; whatever is missing at run time is
// reported as "not measured: <reason>", never as a number.
// Both ends are consumers of the purpose: they are told of a change by notice,
// naming the subject by its pseudonym under the purpose, so each arrival is
// matched to its change by the pseudonym the bench computes for the subject.
import { cpuMs, graphqlUrl, type Child } from './children.ts';
import { percentile, sleep } from './lib.ts';
import { ANY_UUID, openSse, PSEUDONYM, pseudonymOf, startReceiver } from './listeners.ts';
import { ADMIN, CONSENT_MANAGEMENT, GRANT, grantInput, RECORDER } from './settings.ts';

export interface PropagationRow {
  rate: number;
  channel: 'webhook' | 'subscription (SSE)';
  sent: number;
  received: number;
  p50: number;
  p99: number;
  /** From sending the first change to the last arrival. */
  lastMs: number;
}
export type PropagationResult =
  | { notMeasured: string }
  | {
      rows: PropagationRow[];
      notes: string[];
      notMeasured: { channel: string; reason: string }[];
      mutation: { p50: number; p99: number };
      serverCpu: { rate: number; perChange: number }[];
    };

export interface LagOptions {
  seconds: number;
  rates: number[];
  log(msg: string): void;
  /** Starts the real server (src/main.ts, with its dispatcher) on the benchmark database. */
  startServer(env: Record<string, string>): Promise<Child>;
}

const PURPOSE = 'marketing';
/** The live subscriber: the email platform, a consumer registered for marketing. */
const CONSUMER = 'Bearer dev-email-platform-key';

interface Field {
  name: string;
  args: { name: string; type: TypeRef }[];
  type: TypeRef;
}
interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
const named = (t: TypeRef): string => (t.ofType ? named(t.ofType) : (t.name ?? ''));
const kindOf = (t: TypeRef): string => (t.ofType ? kindOf(t.ofType) : t.kind);

export async function measureLag(options: LagOptions): Promise<PropagationResult> {
  let server: Child | undefined;
  const receiver = await startReceiver();
  const sse = new AbortController();
  try {
    server = await options.startServer({ CONSENTQL_WEBHOOK_RETRY_SCHEDULE: '1s', CONSENTQL_WEBHOOK_TIMEOUT: '2s' });
    const url = graphqlUrl(server);
    const gql = async (query: string, variables: object = {}, auth = ADMIN, headers: Record<string, string> = {}) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth, ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as { data?: any; errors?: { message: string }[] };
    };

    // What the server offers (introspection needs no purpose).
    const intro = await gql(`{ __schema {
      mutationType { fields { name args { name type { ...T } } type { ...T } } }
      subscriptionType { fields { name args { name type { ...T } } type { ...T } } }
    } }
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`);
    const mutations: Field[] = intro.data?.__schema.mutationType?.fields ?? [];
    const subscriptions: Field[] = intro.data?.__schema.subscriptionType?.fields ?? [];
    const change = mutations.find((f) => f.name === 'grantConsent');
    const register = mutations.find((f) => named(f.type) === 'CreatedWebhookSubscription');
    const consentChanged = subscriptions.find((f) => f.name === 'consentChanged');
    const missing = [
      !change && 'the grantConsent mutation',
      !register && 'a mutation registering a webhook subscription (returning CreatedWebhookSubscription)',
      !consentChanged && 'the consentChanged subscription',
    ].filter(Boolean);
    if (missing.length) return { notMeasured: `the server has no ${missing.join(', no ')} (issue 4 not in place)` };

    // Register the receiver as a webhook subscriber for the purpose.
    const input = { url: receiver.url, purposes: [PURPOSE], description: 'npm run bench' };
    const regArgs = register!.args.map((a) => a.name);
    const reg = regArgs.includes('input')
      ? await gql(
          `mutation($input: ${typeName(register!.args.find((a) => a.name === 'input')!.type)}) { r: ${register!.name}(input: $input) { subscription { id } } }`,
          { input },
        )
      : await gql(
          `mutation($url: String!, $purposes: [String!]!) { r: ${register!.name}(url: $url, purposes: $purposes) { subscription { id } } }`,
          input,
        );
    const subscriptionId: string | undefined = reg.data?.r?.subscription?.id;
    if (!subscriptionId) return { notMeasured: `registering a webhook failed: ${JSON.stringify(reg.errors ?? reg).slice(0, 300)}` };

    // The live subscription over server-sent events.
    const sseArgs = consentChanged!.args.some((a) => a.name === 'purposes')
      ? `(purposes: ["${PURPOSE}"])`
      : consentChanged!.args.some((a) => a.name === 'purpose')
        ? `(purpose: "${PURPOSE}")`
        : '';
    // As the consumer sees it: the subject only as `subject`, its pseudonym under the purpose.
    const sseReceived = new Map<string, number>();
    const sseState = { events: 0, leaks: 0, sample: '' };
    let sseProblem = await openSse(
      url,
      { authorization: CONSUMER, 'x-purpose': PURPOSE },
      `subscription { consentChanged${sseArgs} { subject purpose action } }`,
      sse.signal,
      (text) => {
        const at = performance.now();
        for (const token of text.match(PSEUDONYM) ?? []) if (!sseReceived.has(token)) sseReceived.set(token, at);
        sseState.events++;
        sseState.sample ||= text;
        if (ANY_UUID.test(text)) sseState.leaks++;
      },
    );

    // Distinct subjects, one change each, so that every arrival is matched to its change. Listed under
    // consent_management, for which every subject has a basis: under a consumer purpose the list holds only
    // the subjects that purpose may process, which may be fewer than needed.
    const needed = options.rates.reduce((n, r) => n + r * options.seconds, 0) + 1;
    const page = await gql(`query($n: Int!) { customers(first: $n) { edges { node { id } } } }`, { n: Math.min(needed, 1000) }, ADMIN, {
      'x-purpose': CONSENT_MANAGEMENT,
    });
    const subjects: string[] = page.data?.customers?.edges.map((e: { node: { id: string } }) => e.node.id) ?? [];
    if (subjects.length < needed)
      return { notMeasured: `could not list ${needed} customers: ${JSON.stringify(page.errors ?? page).slice(0, 200)}` };
    // What the consumers will be told each subject is.
    const pseudonym = new Map(subjects.map((id) => [id, pseudonymOf(id, PURPOSE)]));
    const arrivedAt = (arrivals: Map<string, number>, id: string) => arrivals.get(pseudonym.get(id)!);

    const send = (customerId: string) => gql(GRANT, grantInput(customerId, PURPOSE), RECORDER, { 'x-purpose': CONSENT_MANAGEMENT });
    // A first change checks the whole path before measuring.
    const probe = subjects.pop()!;
    const first = await send(probe);
    if (first.errors) return { notMeasured: `grantConsent failed: ${first.errors[0].message} ${serverError(server.output())}`.trim() };
    for (let i = 0; i < 100 && !(arrivedAt(receiver.received, probe) && (sseProblem || arrivedAt(sseReceived, probe))); i++)
      await sleep(50);
    const seen = (what: string, sample: string) =>
      sample
        ? ` (it received ${what} without the expected pseudonym ${pseudonym.get(probe)}: ${sample.replace(/\s+/g, ' ').slice(0, 200)})`
        : '';
    const webhookProblem = arrivedAt(receiver.received, probe)
      ? null
      : `a change did not reach the webhook receiver within 5 s${seen('a body', receiver.state.sample)}`;
    sseProblem ??= arrivedAt(sseReceived, probe)
      ? null
      : `a change did not reach the SSE subscriber within 5 s${seen('an event', sseState.sample)}`;
    if (webhookProblem && sseProblem) return { notMeasured: `${webhookProblem}; ${sseProblem}` };
    const channels = [
      ['webhook', receiver.received, webhookProblem],
      ['subscription (SSE)', sseReceived, sseProblem],
    ] as const;

    const rows: PropagationRow[] = [];
    let mutationErrors = 0;
    const mutationMs: number[] = [];
    // The server's CPU time per change: its one event loop records the changes and dispatches the webhooks.
    const serverCpu: { rate: number; perChange: number }[] = [];
    for (const rate of options.rates) {
      const batch = subjects.splice(0, rate * options.seconds);
      const sentAt = new Map<string, number>();
      const cpu0 = cpuMs(server.serverPid());
      const t0 = performance.now();
      const inflight: Promise<void>[] = [];
      for (const [i, id] of batch.entries()) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const start = performance.now();
        sentAt.set(id, start);
        inflight.push(
          send(id).then(
            (r) => {
              if (r.errors) mutationErrors++;
              mutationMs.push(performance.now() - start);
            },
            () => void mutationErrors++,
          ),
        );
      }
      await Promise.all(inflight);
      // Wait for stragglers (at most 5 s after the last change).
      const live = channels.filter(([, , problem]) => !problem);
      for (let i = 0; i < 100 && batch.some((id) => live.some(([, arrivals]) => arrivedAt(arrivals, id) === undefined)); i++)
        await sleep(50);
      serverCpu.push({ rate, perChange: (cpuMs(server.serverPid()) - cpu0) / batch.length });
      for (const [channel, arrivals] of live) {
        const arrived = batch.filter((id) => arrivedAt(arrivals, id) !== undefined);
        const lags = arrived.map((id) => arrivedAt(arrivals, id)! - sentAt.get(id)!).sort((a, b) => a - b);
        const lastMs = Math.max(...arrived.map((id) => arrivedAt(arrivals, id)!)) - t0;
        rows.push({
          rate,
          channel,
          sent: batch.length,
          received: lags.length,
          p50: percentile(lags, 50),
          p99: percentile(lags, 99),
          lastMs,
        });
      }
      options.log(
        `propagation at ${rate}/s: ` +
          rows
            .slice(-live.length)
            .map((r) => `${r.channel} p99 ${r.p99.toFixed(1)} ms (${r.received}/${r.sent})`)
            .join(', '),
      );
    }
    mutationMs.sort((a, b) => a - b);
    const notes = [
      `Propagation: the real server (src/main.ts) on the benchmark database; each change is \`grantConsent\` of \`${PURPOSE}\` for a distinct customer (listed under \`${CONSENT_MANAGEMENT}\`, recorded by the consent center under \`${CONSENT_MANAGEMENT}\`), sent on schedule (open loop); ` +
        `lag is measured from sending the mutation to the webhook POST arriving at a local receiver (Standard Webhooks, answered 204) and to the \`consentChanged\` event arriving over SSE at the email platform (a consumer, \`X-Purpose: ${PURPOSE}\`, selecting \`subject purpose action\`). ` +
        `Both are notices that name the subject only by its pseudonym under the purpose, so arrivals are matched by the pseudonym the bench computes for each subject with the servers' HMAC keyring (\`createMasker(keyring).pseudonym(id, '${PURPOSE}')\`). ` +
        `The mutation itself took p50 ${percentile(mutationMs, 50).toFixed(1)} ms, p99 ${percentile(mutationMs, 99).toFixed(1)} ms${mutationErrors ? `; ${mutationErrors} mutations failed` : ''}. ` +
        `Customer ids (UUIDs) seen by the consumers: ${receiver.state.leaks} of ${receiver.state.bodies} webhook bodies, ${sseState.leaks} of ${sseState.events} SSE events${receiver.state.leaks + sseState.leaks ? ' (a notice must not carry one: a product bug)' : ''}.`,
    ];
    // Leave no subscriber behind pointing at a closed port.
    const remove = mutations.find(
      (f) => /webhook/i.test(f.name) && /delete|remove|deactivate|disable/i.test(f.name) && f.args.some((a) => a.name === 'id'),
    );
    if (remove) {
      const selection = ['OBJECT', 'INTERFACE', 'UNION'].includes(kindOf(remove.type)) ? ' { __typename }' : '';
      await gql(`mutation($id: ID!) { ${remove.name}(id: $id)${selection} }`, { id: subscriptionId });
    }
    return {
      rows,
      notes,
      serverCpu,
      mutation: { p50: percentile(mutationMs, 50), p99: percentile(mutationMs, 99) },
      notMeasured: channels.filter(([, , p]) => p).map(([channel, , reason]) => ({ channel, reason: reason! })),
    };
  } finally {
    sse.abort();
    await server?.stop();
    await new Promise((r) => receiver.server.close(r));
  }
}

/** The last error the server logged (pino JSON lines), for a "not measured" reason. */
function serverError(output: string): string {
  const line = output
    .split('\n')
    .reverse()
    .find((l) => l.includes('"level":50'));
  if (!line) return '';
  try {
    return `(server log: ${String(JSON.parse(line).msg).replace(/\s+/g, ' ').trim().slice(0, 240)})`;
  } catch {
    return '';
  }
}

function typeName(t: TypeRef): string {
  if (t.kind === 'NON_NULL') return `${typeName(t.ofType!)}!`;
  if (t.kind === 'LIST') return `[${typeName(t.ofType!)}]`;
  return t.name!;
}
