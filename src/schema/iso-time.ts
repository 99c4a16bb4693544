// Date#toISOString, for the years 1000-9999, without its cost: V8 formats it in
// C++ behind a runtime call (about 0.45 µs; this takes about 0.12 µs), and a
// page of 100 customers with their orders and tickets serialises some 800.

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const three = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** `date.toISOString()`: the same string, and the same RangeError for an invalid date. */
export function isoTime(date: Date): string {
  const year = date.getUTCFullYear();
  // Other years (and NaN) are padded, signed or refused: Date's own formatter.
  if (!(year >= 1000 && year <= 9999)) return date.toISOString();
  return `${year}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}T${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}.${three(date.getUTCMilliseconds())}Z`;
}
