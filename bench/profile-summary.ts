// node bench/profile-summary.ts <file.cpuprofile>: self time of a V8 CPU profile grouped by
// where it is spent (package or project directory), and the top functions.
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const profile = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));

function group(n: ProfileNode): string {
  const { url, functionName } = n.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1] === '@prisma/client' && /runtime/.test(url) ? '@prisma/client runtime' : m[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const p = /\/work\/main\/(src\/[^/]+(?:\/[^/]+)?)/.exec(url);
  return p ? p[1].replace(/\.ts$/, '') : url;
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const busy = total - [...self.entries()].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
const groups = new Map<string, number>();
const fns = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  if (n.callFrame.functionName === '(idle)') continue;
  const g = group(n);
  groups.set(g, (groups.get(g) ?? 0) + t);
  const f = `${n.callFrame.functionName || 'anonymous'} (${g}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''})`;
  fns.set(f, (fns.get(f) ?? 0) + t);
}
/** Coarser: what the issue asks about. */
function category(g: string, fn: string): string {
  if (g === '(garbage collector)') return 'GC';
  if (/^@prisma|^wasm:|^@prisma\/adapter-pg/.test(g) || g === 'decimal.js')
    return 'Prisma (client runtime, query compiler wasm, result mapping)';
  if (/^pg($|-)|postgres-|writev|utf8Slice/.test(g) || g === 'node:buffer') return 'pg driver and socket I/O (parse rows, write queries)';
  if (fn === 'jsonStringifyResultWithoutInternals') return 'response serialisation (JSON.stringify)';
  if (g === 'graphql' || g === '@graphql-tools/executor') return 'GraphQL execution (graphql-js / executor)';
  if (/^@pothos/.test(g)) return 'Pothos plugins';
  if (/^src\/schema\/consent-plugin|^src\/masking|^src\/policy/.test(g)) return 'consent layer (field wrapper, decisions, masks)';
  if (/^src\//.test(g)) return 'other project code (resolvers, scalars, loaders)';
  if (/yoga|envelop|whatwg|graphql-armor|escape/.test(g)) return 'Yoga / envelop / fetch API';
  if (/compileSourceTextModule|wrapSafe/.test(fn)) return 'start-up (module compile)';
  return `other: ${g}`;
}
const cats = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  if (n.callFrame.functionName === '(idle)') continue;
  const c = category(group(n), n.callFrame.functionName);
  cats.set(c, (cats.get(c) ?? 0) + t);
}
const pct = (t: number) => `${((t / busy) * 100).toFixed(1).padStart(5)} %`;
console.log(`busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled`);
console.log('-- by category (self time, % of busy)');
for (const [c, t] of [...cats].sort((a, b) => b[1] - a[1]).slice(0, 16)) console.log(`${pct(t)}  ${c}`);
console.log('-- by package / directory (self time, % of busy)');
for (const [g, t] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${pct(t)}  ${g}`);
console.log('-- top functions');
for (const [f, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${pct(t)}  ${f}`);
