import { createHash } from 'node:crypto';

// How values are written into the rows: ISO timestamps, fixed-point money,
// hashed IPs, Postgres array literals, ASCII e-mail addresses.

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoDate = (ms: number): string => iso(ms).slice(0, 10);
export const money = (n: number): string => n.toFixed(2);
export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export function pgTextArray(items: readonly string[]): string {
  return `{${items.map((s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

export function emailLocal(first: string, last: string): string {
  const fold = (s: string) =>
    s
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/ł/g, 'l')
      .replace(/Ł/g, 'L')
      .toLowerCase()
      .replace(/[^a-z]/g, '');
  return `${fold(first)}.${fold(last)}`;
}
