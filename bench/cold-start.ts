// Section 5: cold start of `npm start` on the embedded database, with a fresh
// data directory (initdb, migrate, seed) and again with the one just created.
import path from 'node:path';
import { tempDir, type Child } from './children.ts';
import { fmt } from './lib.ts';
import type { Report } from './report.ts';
import { startEmbedded } from './servers.ts';

const SECTION = '5. Cold start (`npm start`, embedded)';

/** Returns the second server, still running (section 6 loads it). */
export async function measureColdStart(report: Report): Promise<Child> {
  const dataDir = path.join(tempDir('consentql-bench-embedded-'), 'data');
  const fresh = await startEmbedded(dataDir);
  await fresh.child.stop();
  const existing = await startEmbedded(dataDir);
  report.add(SECTION, 'fresh data directory (initdb, migrate, seed 5,000)', `${fmt.n(fresh.ms)} ms`);
  report.add(SECTION, 'existing data directory', `${fmt.n(existing.ms)} ms`);
  report.notes.push(
    "Cold start: spawn of `node src/main.ts` (what `npm start` runs, without npm's own ~0.3 s) to the first 200 from GET /health.",
  );
  return existing.child;
}
