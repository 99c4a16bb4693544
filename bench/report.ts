// What a run reports: the table's rows, one line per target (met, or what
// limits it) and notes on method, written with the machine's description to
// docs/BENCHMARKS.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Target } from './database.ts';
import { ROOT } from './children.ts';
import { CUSTOMERS, quick } from './settings.ts';

export interface Row {
  section: string;
  metric: string;
  value: string;
  target: string;
  verdict: string;
}

export class Report {
  readonly rows: Row[] = [];
  /** One line per target: met, or missed and what limits it. */
  readonly targets: string[] = [];
  readonly notes: string[] = [];
  private readonly loadAtStart = os.loadavg()[0];

  add(section: string, metric: string, value: string, target = '', verdict = '') {
    this.rows.push({ section, metric, value, target, verdict });
  }

  table(): string {
    const rows = this.rows;
    return [
      '| Measure | Result | Target | |',
      '|---|---|---|---|',
      ...rows.map(
        (r, i) =>
          `| ${i === 0 || rows[i - 1].section !== r.section ? `**${r.section}** ` : ''}${r.metric} | ${r.value} | ${r.target} | ${r.verdict} |`,
      ),
    ].join('\n');
  }

  /** Writes docs/BENCHMARKS.md and prints the table. */
  write(target: Target, totalSeconds: number) {
    const table = this.table();
    const md = `# Benchmarks

Written by \`npm run bench\`${quick ? ' **in quick mode (not a reference run)**' : ''} on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; total run time ${totalSeconds.toFixed(0)} s.

- Machine: ${machine()}; load average (1 min) ${this.loadAtStart.toFixed(2)} when the run began, ${os.loadavg()[0].toFixed(2)} when it ended (the bench itself included: other work on the machine widens the spread of the absolute figures)
- Database: ${target.description}, ${CUSTOMERS.toLocaleString('en-US')} generated customers
- Ratios compare servers measured in this same run; "baseline" is \`createServer({ benchmarkBaseline: true })\`: the same schema with field decisions switched off.

${table}

## Targets

${this.targets.map((t) => `- ${t}`).join('\n')}

## Notes

${this.notes.map((n) => `- ${n}`).join('\n')}
`;
    fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'docs/BENCHMARKS.md'), md);
    console.log(`\n${table}\n`);
  }
}

export const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}
