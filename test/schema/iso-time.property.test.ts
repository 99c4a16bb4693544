import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/schema/iso-time.ts';

describe('isoTime', () => {
  it('formats every date as Date#toISOString does, the edges of its range included', () => {
    const edges = fc.constantFrom(
      new Date('0999-12-31T23:59:59.999Z'),
      new Date('1000-01-01T00:00:00.000Z'),
      new Date('1970-01-01T00:00:00.000Z'),
      new Date('9999-12-31T23:59:59.999Z'),
      new Date('+010000-01-01T00:00:00.000Z'),
      new Date(-1),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.date({ noInvalidDate: true }),
          fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }),
          edges,
        ),
        (date) => {
          expect(isoTime(date)).toBe(date.toISOString());
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('throws the same RangeError as Date#toISOString for an invalid date', () => {
    expect(() => isoTime(new Date(Number.NaN))).toThrow(RangeError);
  });
});
