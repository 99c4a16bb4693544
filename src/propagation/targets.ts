import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

// Where webhooks may go. A subscriber's URL is chosen by whoever holds an
// admin key, and the server POSTs to it from inside the network: without a
// check, a webhook reaches what the internet cannot (the database on
// 127.0.0.1:5432, a cache, the cloud metadata service), and the delivery's
// status and error tell which ports answer. So only public addresses are
// targets unless an operator lists a host in CONSENTQL_WEBHOOK_ALLOW_HOSTS.
//
// The check runs when a subscription is created (to say so at once) and
// again at each delivery on the addresses actually connected to, so a name
// that resolved to a public address yesterday and to 127.0.0.1 today (DNS
// rebinding) is refused too.

export type AddressKind =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'metadata'
  | 'reserved';

const KIND_TEXT: Record<Exclude<AddressKind, 'public'>, string> = {
  loopback: 'a loopback address (this machine)',
  private: 'a private network address',
  'link-local': 'a link-local address',
  shared: 'a carrier-grade NAT address (100.64.0.0/10)',
  unspecified: 'an unspecified address (0.0.0.0 or ::, which reaches this machine)',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  metadata: 'a cloud metadata service address',
  reserved: 'a reserved or special-purpose address',
};

export function describeKind(kind: Exclude<AddressKind, 'public'>): string {
  return KIND_TEXT[kind];
}

interface Range {
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
  prefix: number;
}

interface KindRange extends Range {
  kind: Exclude<AddressKind, 'public'>;
}

/** "10.0.0.0/8" or "fc00::/7" → a range; a bare address is a /32 or /128. */
export function parseRange(text: string): Range | null {
  const [address, bits, ...rest] = text.trim().split('/');
  if (rest.length > 0) return null;
  const bytes = addressBytes(address);
  if (!bytes) return null;
  const max = bytes.length * 8;
  if (bits === undefined) return { bytes, prefix: max };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return null;
  return { bytes, prefix: Number(bits) };
}

function range(text: string, kind: Exclude<AddressKind, 'public'>): KindRange {
  const parsed = parseRange(text);
  if (!parsed) throw new Error(`bad built-in range ${text}`);
  return { ...parsed, kind };
}

// First match wins: the metadata addresses come before the ranges that hold them.
const IPV4_RANGES: KindRange[] = [
  range('169.254.169.254/32', 'metadata'), // AWS, GCP, Azure, OCI, OpenStack
  range('169.254.170.2/32', 'metadata'), // AWS ECS task metadata
  range('100.100.100.200/32', 'metadata'), // Alibaba Cloud
  range('168.63.129.16/32', 'metadata'), // Azure platform (WireServer): a public-looking address
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'shared'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'reserved'),
  range('192.0.2.0/24', 'reserved'),
  range('192.88.99.0/24', 'reserved'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'reserved'),
  range('198.51.100.0/24', 'reserved'),
  range('203.0.113.0/24', 'reserved'),
  range('224.0.0.0/4', 'multicast'),
  range('255.255.255.255/32', 'broadcast'),
  range('240.0.0.0/4', 'reserved'),
];

const IPV6_RANGES: KindRange[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('fd00:ec2::254/128', 'metadata'), // AWS over IPv6
  range('fc00::/7', 'private'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'private'), // site-local, deprecated
  range('ff00::/8', 'multicast'),
  range('100::/64', 'reserved'), // discard
  range('2001::/32', 'reserved'), // Teredo
  range('2001:db8::/32', 'reserved'), // documentation
  range('64:ff9b:1::/48', 'reserved'), // local-use NAT64
];

/** IPv6 ranges that carry an IPv4 address, judged by that address: [range, offset of the 4 bytes]. */
const EMBEDDING_IPV4: [Range, number][] = [
  [parseRange('::ffff:0:0/96')!, 12], // IPv4-mapped
  [parseRange('::/96')!, 12], // IPv4-compatible (deprecated)
  [parseRange('64:ff9b::/96')!, 12], // NAT64
  [parseRange('2002::/16')!, 2], // 6to4
];
const GLOBAL_UNICAST = parseRange('2000::/3')!;

function inRange(bytes: Uint8Array, r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  let bits = r.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (r.bytes[i] & mask)) return false;
  }
  return true;
}

/** The bytes of an IPv4 or IPv6 address (brackets and an IPv6 zone allowed), or null. */
export function addressBytes(text: string): Uint8Array | null {
  const address = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const version = isIP(address);
  if (version === 4) return Uint8Array.from(address.split('.').map(Number));
  if (version !== 6) return null;
  let head = address;
  let tail4: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    tail4 = dotted[1].split('.').map(Number);
    head = `${address.slice(0, dotted.index)}:0:0`;
  }
  const [left, right] = head.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':').filter((g) => g !== '') : []);
  const l = groups(left);
  const r = right === undefined ? [] : groups(right);
  const missing = 8 - l.length - r.length;
  const all = [...l, ...Array<string>(right === undefined ? 0 : missing).fill('0'), ...r].map((g) => parseInt(g, 16));
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (dotted) bytes.set(tail4, 12);
  return bytes;
}

/** What kind of address this is; only 'public' addresses are webhook targets by default. */
export function classifyAddress(text: string): AddressKind {
  const bytes = addressBytes(text);
  if (!bytes) throw new Error(`not an IP address: ${JSON.stringify(text)}`);
  return classifyBytes(bytes);
}

function classifyBytes(bytes: Uint8Array): AddressKind {
  if (bytes.length === 4) return IPV4_RANGES.find((r) => inRange(bytes, r))?.kind ?? 'public';
  const special = IPV6_RANGES.find((r) => inRange(bytes, r));
  if (special) return special.kind;
  for (const [r, offset] of EMBEDDING_IPV4) if (inRange(bytes, r)) return classifyBytes(bytes.slice(offset, offset + 4));
  return inRange(bytes, GLOBAL_UNICAST) ? 'public' : 'reserved';
}

// ---------------------------------------------------------------------------
// The allow-list: host names, addresses and ranges an operator lets through.

export interface TargetPolicy {
  /** Host names allowed whatever they resolve to (lower case, no trailing dot). */
  readonly names: ReadonlySet<string>;
  /** Addresses and ranges allowed although not public. */
  readonly ranges: readonly Range[];
  /** The setting as written, for messages. */
  readonly entries: readonly string[];
}

export const ALLOW_HOSTS_SETTING = 'CONSENTQL_WEBHOOK_ALLOW_HOSTS';

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * "127.0.0.1,localhost,10.20.0.0/16" → a policy. Throws on an entry that is
 * neither a host name nor an address nor a range (a typo must not pass silently).
 */
export function targetPolicy(entries: readonly string[]): TargetPolicy {
  const names = new Set<string>();
  const ranges: Range[] = [];
  const kept: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    kept.push(entry);
    const parsed = parseRange(entry);
    if (parsed) {
      ranges.push(parsed);
      continue;
    }
    const name = entry.replace(/\.$/, '');
    if (!entry.includes('/') && HOST_NAME.test(name)) {
      names.add(name);
      continue;
    }
    throw new Error(
      `${ALLOW_HOSTS_SETTING} expects host names, IP addresses or CIDR ranges separated by commas (such as "localhost,127.0.0.1,10.20.0.0/16"), but got ${JSON.stringify(raw)}.`,
    );
  }
  return { names, ranges, entries: kept };
}

/** Splits the setting's text. */
export function parseAllowHosts(text: string): string[] {
  return text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

export const NO_EXCEPTIONS: TargetPolicy = targetPolicy([]);

/** The URL's host as a name to match: lower case, brackets and trailing dot removed. */
function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
}

/** Whether an address may be connected to under the policy. */
export function addressAllowed(
  address: string,
  policy: TargetPolicy,
): { allowed: true } | { allowed: false; kind: Exclude<AddressKind, 'public'> } {
  const bytes = addressBytes(address);
  if (!bytes) return { allowed: false, kind: 'reserved' };
  const kind = classifyBytes(bytes);
  if (kind === 'public') return { allowed: true };
  // A listed range lets its addresses through, but the metadata service only when listed exactly.
  const listed = policy.ranges.some((r) => inRange(bytes, r) && (kind !== 'metadata' || r.prefix === r.bytes.length * 8));
  return listed ? { allowed: true } : { allowed: false, kind };
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type TargetCheck =
  | { ok: true; host: string /** Empty when the host is an IP address (nothing to resolve). */; addresses: ResolvedAddress[] }
  | { ok: false; problem: 'refused'; host: string; address: string; kind: Exclude<AddressKind, 'public'> }
  | { ok: false; problem: 'unresolved'; host: string; code: string };

export type Resolve = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolve: Resolve = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/**
 * Where a URL's host may be reached: its checked addresses, or why not.
 * Every address the name resolves to must be allowed (a mixed answer is how
 * rebinding attacks start), and the caller connects only to these.
 */
export async function checkTarget(url: URL, policy: TargetPolicy, resolve: Resolve = systemResolve): Promise<TargetCheck> {
  const host = hostOf(url);
  const family = isIP(host);
  if (family !== 0) {
    const verdict = addressAllowed(host, policy);
    return verdict.allowed ? { ok: true, host, addresses: [] } : { ok: false, problem: 'refused', host, address: host, kind: verdict.kind };
  }
  const named = policy.names.has(host);
  // RFC 6761: these names are this machine whatever a resolver says.
  if (!named && (host === 'localhost' || host.endsWith('.localhost'))) {
    return { ok: false, problem: 'refused', host, address: host, kind: 'loopback' };
  }
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    return { ok: false, problem: 'unresolved', host, code: (error as NodeJS.ErrnoException).code ?? 'ERROR' };
  }
  if (addresses.length === 0) return { ok: false, problem: 'unresolved', host, code: 'ENOTFOUND' };
  for (const { address } of addresses) {
    const verdict = addressAllowed(address, policy);
    // A listed name may resolve to anything but the metadata service.
    if (!verdict.allowed && !(named && verdict.kind !== 'metadata')) {
      return { ok: false, problem: 'refused', host, address, kind: verdict.kind };
    }
  }
  return { ok: true, host, addresses };
}

/** A URL's user name and password, replaced: for messages that echo what was received. */
export function withoutCredentials(text: string): string {
  return text.replace(/^((?:[a-z][a-z0-9+.-]*:)?\/\/)?[^/?#]*@/i, '$1***@');
}

/** What logs may say about a target: scheme, host and port, never path, query or credentials. */
export function targetForLogs(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
