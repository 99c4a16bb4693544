import { createHash } from 'node:crypto';
import { keyOf, type TestApp } from '../support/app.ts';

// Extract requests through Yoga's real HTTP handling, and readers for what comes back.

export interface ExtractResponse {
  status: number;
  id: string | null;
  headers: Headers;
  bytes: Buffer;
  sha256: string;
  json: any;
}

export async function requestExtract(
  app: TestApp,
  body: unknown,
  options: { client?: string; purpose?: string; headers?: Record<string, string> } = {},
): Promise<ExtractResponse> {
  const response = await startExtract(app, body, options);
  return readExtract(response);
}

export function startExtract(
  app: TestApp,
  body: unknown,
  options: { client?: string; purpose?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.client) headers.authorization = `Bearer ${keyOf(options.client)}`;
  if (options.purpose) headers['x-purpose'] = options.purpose;
  return app.fetch('/extracts', { method: 'POST', headers, body: JSON.stringify(body) });
}

export async function readExtract(response: Response): Promise<ExtractResponse> {
  const bytes = Buffer.from(await response.arrayBuffer());
  const isJson = response.headers.get('content-type')?.startsWith('application/json');
  return {
    status: response.status,
    id: response.headers.get('x-extract-id'),
    headers: response.headers,
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    json: isJson ? JSON.parse(bytes.toString('utf8')) : null,
  };
}

export const ndjsonRows = (bytes: Buffer): Record<string, unknown>[] =>
  bytes
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));

/** RFC 4180, as a reader would parse it: [header, ...rows] of raw strings; an unquoted empty field is null. */
export function parseCsv(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let i = 0;
  while (i < text.length) {
    let value: string | null;
    if (text[i] === '"') {
      let end = i + 1;
      let out = '';
      for (;;) {
        const q = text.indexOf('"', end);
        if (q < 0) throw new Error('unterminated quote');
        out += text.slice(end, q);
        if (text[q + 1] === '"') {
          out += '"';
          end = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      value = out;
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\r') end++;
      value = end === i ? null : text.slice(i, end);
      i = end;
    }
    row.push(value);
    if (text[i] === ',') i++;
    else if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else if (i < text.length) throw new Error(`unexpected character at ${i}`);
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

export async function manifest(app: TestApp, id: string, client: string): Promise<{ status: number; body: any }> {
  const response = await app.fetch(`/extracts/${id}/manifest`, { headers: { authorization: `Bearer ${keyOf(client)}` } });
  return { status: response.status, body: await response.json() };
}

/** Every customer of a purpose through the GraphQL API, page by page, keyed by subjectKey. */
export async function graphqlCustomers(app: TestApp, client: string, purpose: string, fields: readonly string[], pageSize = 1000) {
  const query = `query($after: String) { customers(first: ${pageSize}, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { subjectKey ${fields.join(' ')} } } } }`;
  const byKey = new Map<string, Record<string, unknown>>();
  let after: string | null = null;
  for (;;) {
    const page: any = await app.graphql(query, { client, purpose, variables: { after } });
    if (page.body.errors) throw new Error(JSON.stringify(page.body.errors));
    for (const { node } of page.body.data.customers.edges) byKey.set(node.subjectKey, node);
    if (!page.body.data.customers.pageInfo.hasNextPage) return byKey;
    after = page.body.data.customers.pageInfo.endCursor;
  }
}
