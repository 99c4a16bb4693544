import { BlockList, isIP } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import { normaliseIp } from '../consent/proof.ts';

// Whose address a request comes from, for the proof of consent (the hashed IP
// of whoever clicked). X-Forwarded-For is a request header like any other:
// anyone can send one. It is believed only when the connection comes from a
// proxy listed in CONSENTQL_TRUSTED_PROXIES, and then only as far as the chain
// of trusted proxies goes: each proxy appends the address it received the
// request from, so the right-most entry that is not one of ours is the client;
// whatever stands left of it was written by the client and proves nothing.

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  /** Entries are IP addresses or CIDR ranges, validated by the configuration (src/config.ts). */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits] = entry.split('/');
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(bits), type);
    }
    this.size = entries.length;
  }

  /** Whether this (normalised) address is one of our proxies. */
  has(address: string): boolean {
    if (this.size === 0) return false;
    const version = isIP(address);
    if (version === 0) return false;
    // An IPv4 proxy may be listed as itself or reach us as IPv4-mapped IPv6, and the other way round.
    return this.list.check(address, version === 6 ? 'ipv6' : 'ipv4') || (version === 4 && this.list.check(`::ffff:${address}`, 'ipv6'));
  }
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy;
 * then the right-most X-Forwarded-For entry that is not itself a trusted
 * proxy (when every entry is one, the left-most). Null when the peer is
 * unknown (not served by node:http) or an entry we would have to rely on is
 * not an address: better no proof of address than a forged one.
 */
export function clientAddress(headers: Headers, peer: string | null | undefined, trusted: TrustedProxies): string | null {
  const socket = normaliseIp(peer);
  if (!socket) return null;
  if (!trusted.has(socket)) return socket;
  const forwarded = (headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  let client = socket;
  for (let i = forwarded.length - 1; i >= 0; i--) {
    const address = addressOf(forwarded[i]);
    if (!address) return null;
    client = address;
    if (!trusted.has(address)) return address;
  }
  return client;
}

/** An X-Forwarded-For entry: an address, possibly with a port (`192.0.2.1:5000`, `[2001:db8::1]:443`). */
function addressOf(entry: string): string | null {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry)?.[1];
  const withPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(entry)?.[1];
  return normaliseIp(bracketed ?? withPort ?? entry);
}

type NodeServerContext = { req?: { socket?: { remoteAddress?: string } } };

/** The socket peer of a request served by node:http (Yoga's server context carries the Node request). */
export function peerOf(serverContext: unknown): string | undefined {
  return (serverContext as NodeServerContext | undefined)?.req?.socket?.remoteAddress;
}

const CLIENT_ADDRESS = Symbol.for('consentql.clientAddress');

/**
 * Decides the client address once per request, before anything else reads
 * it, and keeps it in the server context (which Yoga makes the GraphQL
 * context): the consent center and the consent mutations read it with
 * `clientAddressOf`.
 */
export function useClientAddress(trusted: TrustedProxies): Plugin {
  return {
    onRequest({ request, serverContext }) {
      (serverContext as Record<symbol, string | null>)[CLIENT_ADDRESS] = clientAddress(request.headers, peerOf(serverContext), trusted);
    },
  };
}

/** The client address decided for this request; without the plugin, the socket peer alone (never a forwarded header). */
export function clientAddressOf(context: object | null | undefined): string | null {
  const decided = (context as Record<symbol, string | null | undefined> | null | undefined)?.[CLIENT_ADDRESS];
  return decided !== undefined ? decided : normaliseIp(peerOf(context));
}
