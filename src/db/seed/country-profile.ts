import type { Rng } from './random.ts';

// What the generator needs to know about a country to make its customers look
// local: names, places, phone and postal formats, the way an address is written.

export interface Place {
  city: string;
  region: string | null;
  postal: string;
  lat: number;
  lon: number;
  phone?: string;
  language?: string;
}

export interface CountryProfile {
  code: string;
  language: string;
  currency: string;
  phone: string;
  first: string[];
  last: string[];
  places: Place[];
  streets: string[];
  address: (rng: Rng, street: string) => string;
}

export const numberAfter = (rng: Rng, street: string) => `${street} ${rng.int(1, 140)}`;
export const numberBefore = (rng: Rng, street: string) => `${rng.int(1, 220)} ${street}`;
