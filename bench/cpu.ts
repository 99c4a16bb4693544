// The four servers built in one process and driven in small alternating blocks
// (N requests to each in turn, order rotated per block): the process's own
// CPU time (process.cpuUsage: Node's work, not PostgreSQL's) and wall time per
// request. On a shared machine, contention drifts over seconds; blocks of a few
// dozen milliseconds see the same contention on both sides of a comparison.
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type OpenOptions } from '../src/db/database.ts';
import { median, pairedMedian } from './lib.ts';
import { PRODUCTION } from './servers.ts';
import { buildVariant, VARIANTS, type Variant } from './variants.ts';

export interface BlockStats {
  cpu: number[];
  wall: number[];
}

export async function interleavedCpu(
  dbOptions: OpenOptions,
  body: string,
  headers: Record<string, string>,
  blocks: number,
  perBlock: number,
) {
  const db = await openDatabase(dbOptions);
  try {
    // The production settings of the bench's servers (servers.ts); the database is the one opened above.
    const config = loadConfig({ ...PRODUCTION, ...(dbOptions.databaseUrl ? { DATABASE_URL: dbOptions.databaseUrl } : {}) });
    const logger = pino({ level: 'silent' });
    const yogas = Object.fromEntries(VARIANTS.map((v) => [v, buildVariant(v, config, db, logger)])) as Record<
      Variant,
      ReturnType<typeof buildVariant>
    >;
    const once = async (v: Variant) => {
      // A fresh headers object each time: the fetch API adds content-length to the one it is given.
      const res = await yogas[v].fetch('http://bench/graphql', { method: 'POST', headers: { ...headers }, body });
      const text = await res.text();
      // A refused request (a limit, an error) would be measured as a cheap one.
      if (!res.ok || text.includes('"errors"')) throw new Error(`in-process ${v}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    };
    for (const v of VARIANTS) for (let i = 0; i < 30; i++) await once(v);
    const stats = Object.fromEntries(VARIANTS.map((v) => [v, { cpu: [] as number[], wall: [] as number[] }])) as Record<
      Variant,
      BlockStats
    >;
    for (let b = 0; b < blocks; b++) {
      for (const [i] of VARIANTS.entries()) {
        const v = VARIANTS[(i + b) % VARIANTS.length];
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        for (let r = 0; r < perBlock; r++) await once(v);
        const c = process.cpuUsage(c0);
        stats[v].cpu.push((c.user + c.system) / 1000 / perBlock);
        stats[v].wall.push((performance.now() - w0) / perBlock);
      }
    }
    /** Medians over blocks, and the median of per-block ratios (CPU) and differences (wall). */
    const compare = (a: Variant, b: Variant) => ({
      cpuA: median(stats[a].cpu),
      cpuB: median(stats[b].cpu),
      cpu: pairedMedian(stats[a].cpu, stats[b].cpu, (x, y) => x / y - 1),
      wallA: median(stats[a].wall),
      wallB: median(stats[b].wall),
      wall: pairedMedian(stats[a].wall, stats[b].wall, (x, y) => x - y),
    });
    return { masking: compare('enforced', 'baseline'), shield: compare('shield', 'no-shield') };
  } finally {
    await db.close();
  }
}
