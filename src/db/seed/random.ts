// Every random choice of the seed comes from here: a seeded PRNG, never
// Math.random, so that every run on every machine writes the same rows. UUIDs
// are drawn from the same streams for the same reason.

/**
 * sfc32 (Small Fast Counter): a seedable PRNG with 128 bits of state, returning
 * uint32s. Not mulberry32: its 32-bit state makes per-customer streams overlap
 * and UUIDs drawn from it collide after ~100k (the birthday bound of 2^32).
 */
export function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
}

/** cyrb128: four 32-bit seeds from a string. */
function seedOf(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Rng {
  private readonly u32: () => number;
  constructor(seed: string) {
    this.u32 = sfc32(...seedOf(seed));
    // Warm up: the first outputs of sfc32 still echo the seed.
    for (let i = 0; i < 12; i++) this.u32();
  }
  private next(): number {
    return this.u32() / 4294967296;
  }
  float(min = 0, max = 1): number {
    return min + this.next() * (max - min);
  }
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    return entries[entries.length - 1][0];
  }
  /** k distinct items. */
  sample<T>(items: readonly T[], k: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < k && pool.length > 0) out.push(pool.splice(Math.floor(this.next() * pool.length), 1)[0]);
    return out;
  }
  /** A time in [from, to] (ms), whole seconds. */
  time(from: number, to: number): number {
    if (to <= from) return from;
    return Math.floor(this.float(from, to) / 1000) * 1000;
  }
  digits(pattern: string): string {
    return pattern.replace(/#/g, () => String(this.int(0, 9))).replace(/@/g, () => 'ABCDEFGHJKLMNPRSTVWXY'[this.int(0, 20)]);
  }
  /** A version-4 UUID from the PRNG stream (122 random bits). */
  uuid(): string {
    const b = new Array<number>(16);
    for (let i = 0; i < 16; i += 4) {
      const w = this.u32();
      b[i] = w >>> 24;
      b[i + 1] = (w >>> 16) & 0xff;
      b[i + 2] = (w >>> 8) & 0xff;
      b[i + 3] = w & 0xff;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.map((x) => HEX[x]);
    return `${h[0]}${h[1]}${h[2]}${h[3]}-${h[4]}${h[5]}-${h[6]}${h[7]}-${h[8]}${h[9]}-${h[10]}${h[11]}${h[12]}${h[13]}${h[14]}${h[15]}`;
  }
}
