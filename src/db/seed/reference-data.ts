// The shop behind the demo data: where customers live, what it sells, which
// campaigns it sent, and the browsers consent was given from.

/** Where the customers live: ~50% EU/UK/CH, ~20% California, ~25% other US states, ~5% other or unknown. */
export type Home = { country: string | null; region?: string | null };
export const HOMES: readonly (readonly [Home, number])[] = [
  [{ country: 'DE' }, 13],
  [{ country: 'FR' }, 9],
  [{ country: 'IE' }, 4],
  [{ country: 'NL' }, 5],
  [{ country: 'ES' }, 6],
  [{ country: 'IT' }, 6],
  [{ country: 'PL' }, 4],
  [{ country: 'GB' }, 2],
  [{ country: 'CH' }, 1],
  [{ country: 'US', region: 'CA' }, 20],
  [{ country: 'US', region: 'NY' }, 4],
  [{ country: 'US', region: 'TX' }, 4],
  [{ country: 'US', region: 'FL' }, 3],
  [{ country: 'US', region: 'WA' }, 3],
  [{ country: 'US', region: 'VA' }, 3],
  [{ country: 'US', region: 'CO' }, 2],
  [{ country: 'US', region: 'OR' }, 2],
  [{ country: 'US', region: 'CT' }, 2],
  [{ country: 'US', region: 'UT' }, 2],
  [{ country: 'US', region: null }, 1],
  [{ country: null }, 2],
  [{ country: 'JP' }, 1],
  [{ country: 'BR' }, 1],
];

export const CURRENCY_RATE: Record<string, number> = { EUR: 1, USD: 1.1, GBP: 0.85, CHF: 0.95, PLN: 4.3, JPY: 160, BRL: 5.8 };

export const HEALTH_INTERESTS = [
  'diabetes care',
  'pregnancy',
  'sleep',
  'heart health',
  'allergies',
  'mental wellbeing',
  'weight management',
  'fertility',
  'menopause',
  'migraine',
] as const;

export interface Product {
  sku: string;
  name: string;
  price: number;
  health?: string;
}

export const PRODUCTS: Product[] = [
  { sku: 'APP-TSHIRT', name: 'Organic cotton T-shirt', price: 24.9 },
  { sku: 'APP-HOODIE', name: 'Recycled fleece hoodie', price: 59 },
  { sku: 'APP-JEANS', name: 'Slim fit jeans', price: 79 },
  { sku: 'APP-SNEAKER', name: 'Everyday sneakers', price: 89 },
  { sku: 'APP-RAINJKT', name: 'Packable rain jacket', price: 99 },
  { sku: 'APP-SOCKS3', name: 'Merino socks (3 pack)', price: 19.5 },
  { sku: 'HOM-MUG', name: 'Stoneware mug', price: 14 },
  { sku: 'HOM-BLANKET', name: 'Wool throw blanket', price: 69 },
  { sku: 'HOM-LAMP', name: 'Reading lamp', price: 45 },
  { sku: 'HOM-PILLOW', name: 'Memory foam pillow', price: 39, health: 'sleep' },
  { sku: 'BTY-SERUM', name: 'Vitamin C serum', price: 32 },
  { sku: 'BTY-SPF50', name: 'Mineral sunscreen SPF 50', price: 18.5 },
  { sku: 'KIT-BOTTLE', name: 'Insulated water bottle', price: 27 },
  { sku: 'KIT-BLENDER', name: 'Personal blender', price: 49 },
  { sku: 'OUT-YOGAMAT', name: 'Cork yoga mat', price: 55 },
  { sku: 'OUT-DAYPACK', name: 'Daypack 20L', price: 65 },
  { sku: 'HLT-GLUCO50', name: 'Glucose test strips (50)', price: 29.9, health: 'diabetes care' },
  { sku: 'HLT-DIASOCK', name: 'Diabetic comfort socks', price: 18, health: 'diabetes care' },
  { sku: 'HLT-PRENATAL', name: 'Prenatal vitamins (90 days)', price: 24, health: 'pregnancy' },
  { sku: 'HLT-MATPILLOW', name: 'Maternity support pillow', price: 54, health: 'pregnancy' },
  { sku: 'HLT-SLEEPMASK', name: 'Silk sleep mask', price: 22, health: 'sleep' },
  { sku: 'HLT-NOISE', name: 'White noise machine', price: 49, health: 'sleep' },
  { sku: 'HLT-BPMON', name: 'Blood pressure monitor', price: 64, health: 'heart health' },
  { sku: 'HLT-AIRPUR', name: 'HEPA air purifier', price: 149, health: 'allergies' },
  { sku: 'HLT-JOURNAL', name: 'Guided mindfulness journal', price: 16, health: 'mental wellbeing' },
  { sku: 'HLT-SCALE', name: 'Smart body scale', price: 59, health: 'weight management' },
  { sku: 'HLT-OVUTEST', name: 'Ovulation test kit', price: 21, health: 'fertility' },
  { sku: 'HLT-COOLFAN', name: 'Cooling bedside fan', price: 38, health: 'menopause' },
  { sku: 'HLT-ICECAP', name: 'Migraine relief cap', price: 26, health: 'migraine' },
];
export const EVERYDAY_PRODUCTS = PRODUCTS.filter((p) => !p.health || p.sku === 'HOM-PILLOW');

export const CAMPAIGNS: readonly { key: string; at: string }[] = [
  { key: 'black-friday-2024', at: '2024-11-25T08:00:00.000Z' },
  { key: 'winter-sale-2025', at: '2025-01-07T08:00:00.000Z' },
  { key: 'spring-collection-2025', at: '2025-03-18T08:00:00.000Z' },
  { key: 'summer-newsletter-2025', at: '2025-06-24T08:00:00.000Z' },
  { key: 'back-to-school-2025', at: '2025-08-26T08:00:00.000Z' },
  { key: 'black-friday-2025', at: '2025-11-24T08:00:00.000Z' },
  { key: 'winter-sale-2026', at: '2026-01-08T08:00:00.000Z' },
  { key: 'valentines-2026', at: '2026-02-05T08:00:00.000Z' },
  { key: 'spring-collection-2026', at: '2026-03-17T08:00:00.000Z' },
  { key: 'vip-early-access-2026', at: '2026-05-05T08:00:00.000Z' },
  { key: 'summer-newsletter-2026', at: '2026-06-23T08:00:00.000Z' },
  { key: 'back-to-school-2026', at: '2026-08-25T08:00:00.000Z' },
  { key: 'autumn-edit-2026', at: '2026-09-29T08:00:00.000Z' },
  { key: 'black-friday-preview-2026', at: '2026-10-27T08:00:00.000Z' },
];

export const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0',
];
// Browsers that send Sec-GPC: 1 by default or by setting.
export const GPC_USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Brave/1.70',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 DuckDuckGo/5',
];
