import type { Prisma } from '../generated/prisma/client.ts';
import { basisFor } from '../policy/index.ts';
import { GDPR_COUNTRIES } from '../policy/regime.ts';
import { REGIMES, type Basis, type DeploymentMode, type PurposeDefinition, type Regime } from '../policy/types.ts';

type Where = Prisma.CustomerWhereInput;

const NOTHING: Where = { id: { in: [] } };

/**
 * Which customers a regime applies to: the SQL twin of `regimeOf`. It compares
 * the raw columns, where `regimeOf` trims and upper-cases: that is right
 * because the database keeps `country` and `region` normalised (trimmed, upper
 * case, NULL rather than empty), by a trigger on every write and CHECK
 * constraints (migration 20261130194000_normalise_jurisdiction). Both forms
 * therefore read the same value; test/db/jurisdiction.test.ts checks it.
 */
const regimeWhere: Record<Regime, Where> = {
  GDPR: { country: { in: [...GDPR_COUNTRIES] } },
  CCPA: { country: 'US', region: 'CA' },
  US_STATE: { country: 'US', AND: [{ region: { not: null } }, { region: { not: 'CA' } }] },
  // Spelled out rather than NOT(...): NOT over a NULL country is NULL in SQL.
  NONE: {
    OR: [
      { country: null },
      { country: 'US', region: null },
      { AND: [{ country: { notIn: [...GDPR_COUNTRIES] } }, { country: { not: 'US' } }] },
    ],
  },
};

/**
 * The customers whose consent lets `purpose` use their ordinary (or, with
 * `sensitive`, their special-category) data, as a Prisma filter: the SQL
 * form of `permits()` from the policy engine. Used to exclude rows for
 * training purposes and to confine filtering and sorting to subjects who
 * permit the field, so pagination and counts stay right. Any divergence
 * between the two forms fails closed: the field decision still runs on
 * every returned row.
 */
export function permittedWhere(purpose: PurposeDefinition, mode: DeploymentMode, now: Date, sensitive = false): Where {
  const regimes: readonly Regime[] = mode === 'strictest' ? ['GDPR'] : REGIMES;
  const perRegime = regimes.map((regime) => {
    const rule = ruleFor(purpose, regime, now, sensitive);
    return mode === 'strictest' ? rule : { AND: [regimeWhere[regime], rule] };
  });
  return perRegime.length === 1 ? perRegime[0] : { OR: perRegime };
}

function ruleFor(purpose: PurposeDefinition, regime: Regime, now: Date, sensitive: boolean): Where {
  const ordinary = minorAware(purpose, regime, now, false);
  if (!sensitive) return ordinary;
  const special = basisWhere(basisFor(purpose, regime, false, true), purpose, regime, now, true);
  return { AND: [ordinary, special] };
}

/** Under-16s may need an opt-in where adults need only not to have opted out. */
function minorAware(purpose: PurposeDefinition, regime: Regime, now: Date, sensitive: boolean): Where {
  const cases = ageCases(purpose, regime, now, sensitive);
  return cases.length === 1 ? cases[0] : { OR: cases };
}

/**
 * The rule of `minorAware` as disjoint cases: one when adults and minors have the same
 * basis, else one for adults (or an unknown age) and one for minors.
 */
function ageCases(purpose: PurposeDefinition, regime: Regime, now: Date, sensitive: boolean): Where[] {
  const adult = basisFor(purpose, regime, false, sensitive);
  const minor = basisFor(purpose, regime, true, sensitive);
  if (adult === minor) return [basisWhere(adult, purpose, regime, now, sensitive)];
  const cutoff = new Date(now);
  cutoff.setUTCFullYear(cutoff.getUTCFullYear() - 16);
  return [
    { AND: [{ OR: [{ birthDate: null }, { birthDate: { lte: cutoff } }] }, basisWhere(adult, purpose, regime, now, sensitive)] },
    { AND: [{ birthDate: { gt: cutoff } }, basisWhere(minor, purpose, regime, now, sensitive)] },
  ];
}

/**
 * `permittedWhere(purpose, mode, now)` (ordinary data) as disjoint branches: no
 * customer satisfies two of them, and their union is exactly the customers it selects.
 * One per regime (and age case), in each of which the consent condition is a top-level
 * EXISTS or NOT EXISTS; branches that can select nobody (DENY) are left out. For
 * src/schema/pagination/page-ids.ts, which selects a page's ids branch by branch.
 */
export function permittedBranches(purpose: PurposeDefinition, mode: DeploymentMode, now: Date): Where[] {
  const regimes: readonly Regime[] = mode === 'strictest' ? ['GDPR'] : REGIMES;
  return regimes.flatMap((regime) =>
    ageCases(purpose, regime, now, false)
      .filter((rule) => rule !== NOTHING && !(rule.AND as Where[] | undefined)?.includes(NOTHING))
      .map((rule) => (mode === 'strictest' ? rule : { AND: [regimeWhere[regime], rule] })),
  );
}

function basisWhere(basis: Basis, purpose: PurposeDefinition, regime: Regime, now: Date, sensitive: boolean): Where {
  const scope = { purposeKey: purpose.key, regime, sensitive };
  switch (basis) {
    case 'CONTRACT':
      return {};
    case 'DENY':
      return NOTHING;
    case 'OPT_OUT':
      return { consentStates: { none: { ...scope, action: { in: ['WITHDRAW', 'OPT_OUT'] } } } };
    case 'OPT_IN':
      return {
        consentStates: {
          some: {
            ...scope,
            action: { in: ['GRANT', 'OPT_IN'] },
            purposeVersion: purpose.version,
            OR: [{ expiresAt: null }, { expiresAt: { gt: now } }],
          },
        },
      };
  }
}
