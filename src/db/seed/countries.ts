import { EUROPE } from './countries-europe.ts';
import type { CountryProfile } from './country-profile.ts';

// Every country the demo customers live in, by ISO code.

export const COUNTRIES: Record<string, CountryProfile> = {
  // Europe first: makeCustomer picks from Object.keys(COUNTRIES), so the key order
  // is part of the generated data.
  ...EUROPE,
  US: {
    code: 'US',
    language: 'en',
    currency: 'USD',
    phone: '+1 ###-555-01##',
    first: ['Emily', 'Michael', 'Olivia', 'James', 'Sophia', 'Daniel', 'Ava', 'Ethan', 'Madison', 'Jacob', 'Isabella', 'Noah', 'Maria', 'José', 'Wei', 'Priya', 'Aaliyah', 'Tyler'],
    last: ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Nguyen', 'Kim', 'Patel', 'Anderson', 'Thompson', 'Lee'],
    places: [
      { city: 'Los Angeles', region: 'CA', postal: '900##', lat: 34.0522, lon: -118.2437, phone: '+1 213-555-01##' },
      { city: 'San Francisco', region: 'CA', postal: '941##', lat: 37.7749, lon: -122.4194, phone: '+1 415-555-01##' },
      { city: 'San Diego', region: 'CA', postal: '921##', lat: 32.7157, lon: -117.1611, phone: '+1 619-555-01##' },
      { city: 'Sacramento', region: 'CA', postal: '958##', lat: 38.5816, lon: -121.4944, phone: '+1 916-555-01##' },
      { city: 'San Jose', region: 'CA', postal: '951##', lat: 37.3382, lon: -121.8863, phone: '+1 408-555-01##' },
      { city: 'Oakland', region: 'CA', postal: '946##', lat: 37.8044, lon: -122.2712, phone: '+1 510-555-01##' },
      { city: 'Richmond', region: 'VA', postal: '232##', lat: 37.5407, lon: -77.436, phone: '+1 804-555-01##' },
      { city: 'Arlington', region: 'VA', postal: '222##', lat: 38.8816, lon: -77.091, phone: '+1 703-555-01##' },
      { city: 'Denver', region: 'CO', postal: '802##', lat: 39.7392, lon: -104.9903, phone: '+1 303-555-01##' },
      { city: 'Hartford', region: 'CT', postal: '061##', lat: 41.7658, lon: -72.6734, phone: '+1 860-555-01##' },
      { city: 'Austin', region: 'TX', postal: '787##', lat: 30.2672, lon: -97.7431, phone: '+1 512-555-01##' },
      { city: 'Houston', region: 'TX', postal: '770##', lat: 29.7604, lon: -95.3698, phone: '+1 713-555-01##' },
      { city: 'Portland', region: 'OR', postal: '972##', lat: 45.5152, lon: -122.6784, phone: '+1 503-555-01##' },
      { city: 'Salt Lake City', region: 'UT', postal: '841##', lat: 40.7608, lon: -111.891, phone: '+1 801-555-01##' },
      { city: 'New York', region: 'NY', postal: '100##', lat: 40.7128, lon: -74.006, phone: '+1 212-555-01##' },
      { city: 'Brooklyn', region: 'NY', postal: '112##', lat: 40.6782, lon: -73.9442, phone: '+1 718-555-01##' },
      { city: 'Seattle', region: 'WA', postal: '981##', lat: 47.6062, lon: -122.3321, phone: '+1 206-555-01##' },
      { city: 'Miami', region: 'FL', postal: '331##', lat: 25.7617, lon: -80.1918, phone: '+1 305-555-01##' },
      { city: 'Orlando', region: 'FL', postal: '328##', lat: 28.5384, lon: -81.3789, phone: '+1 407-555-01##' },
    ],
    streets: ['Main St', 'Oak Ave', 'Maple Dr', 'Elm St', 'Park Blvd', 'Washington Ave', 'Cedar Ln', 'Sunset Blvd', 'Lincoln Way'],
    address: (rng, street) => `${rng.int(100, 9899)} ${street}`,
  },
  JP: {
    code: 'JP',
    language: 'ja',
    currency: 'JPY',
    phone: '+81 90-####-####',
    first: ['Haruto', 'Yui', 'Sota', 'Hina', 'Yuto', 'Aoi', 'Ren', 'Sakura'],
    last: ['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura'],
    places: [
      { city: 'Tokyo', region: 'Tokyo', postal: '1##-####', lat: 35.6762, lon: 139.6503 },
      { city: 'Osaka', region: 'Osaka', postal: '5##-####', lat: 34.6937, lon: 135.5023 },
    ],
    streets: ['Jingumae', 'Shinjuku', 'Umeda', 'Namba'],
    address: (rng, street) => `${rng.int(1, 6)}-${rng.int(1, 30)}-${rng.int(1, 20)} ${street}`,
  },
  BR: {
    code: 'BR',
    language: 'pt',
    currency: 'BRL',
    phone: '+55 11 9####-####',
    first: ['Miguel', 'Helena', 'Arthur', 'Alice', 'Gael', 'Laura', 'Heitor', 'Valentina'],
    last: ['Silva', 'Santos', 'Oliveira', 'Souza', 'Rodrigues', 'Ferreira', 'Alves', 'Pereira'],
    places: [
      { city: 'São Paulo', region: 'São Paulo', postal: '01###-###', lat: -23.5558, lon: -46.6396 },
      { city: 'Rio de Janeiro', region: 'Rio de Janeiro', postal: '20###-###', lat: -22.9068, lon: -43.1729 },
    ],
    streets: ['Rua Augusta', 'Avenida Paulista', 'Rua das Laranjeiras', 'Rua Oscar Freire'],
    address: (rng, street) => `${street}, ${rng.int(10, 2400)}`,
  },
};
