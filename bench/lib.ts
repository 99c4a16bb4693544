// Small helpers of `npm run bench`: statistics and the formatting of figures.

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The median of f over pairs (a[i], b[i]): measurements taken back to back are
 * compared with each other, so drifting load on the machine affects both sides alike.
 */
export const pairedMedian = <T>(a: T[], b: T[], f: (x: T, y: T) => number) => median(a.map((x, i) => f(x, b[i])));

export const fmt = {
  n: (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a'),
  ms: (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 2 : 1)} ms` : 'n/a'),
  pct: (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %` : 'n/a'),
  /** A difference in ms, to the µs: "+0.053 ms". */
  delta: (ms: number) => `${ms >= 0 ? '+' : ''}${ms.toFixed(3)} ms`,
};
