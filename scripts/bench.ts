/**
 * `npm run bench`: runs every benchmark module in scripts/bench/ (each `*.ts` exporting `bench()`), one after the
 * other, and prints one table of their figures. Figures are measurements to read and compare, not pass/fail tests:
 * a figure with a target shows whether it met it.
 *
 *   npm run bench                 all modules
 *   npm run bench -- dashboard    only modules whose file name contains "dashboard"
 *
 * A module: `export async function bench(): Promise<BenchFigure[]>` (types in scripts/bench/types.ts).
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchFigure, BenchModule } from './bench/types.ts';

const dir = fileURLToPath(new URL('./bench/', import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'types.ts')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const rows: (BenchFigure & { module: string })[] = [];
let failed = 0;
for (const f of files) {
  const module = basename(f, '.ts');
  const started = performance.now();
  process.stderr.write(`bench ${module} …\n`);
  try {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as Partial<BenchModule>;
    if (typeof mod.bench !== 'function') throw new Error(`${f} does not export bench()`);
    for (const fig of await mod.bench()) rows.push({ module, ...fig });
  } catch (err) {
    failed++;
    rows.push({ module, figure: 'error', value: NaN, unit: '', note: (err as Error).message.split('\n')[0] ?? '' });
  }
  process.stderr.write(`bench ${module} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

const fmt = (v: number) => (Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const table = [
  ['module', 'figure', 'value', 'target', 'met', 'note'],
  ...rows.map((r) => [
    r.module,
    r.figure,
    `${fmt(r.value)} ${r.unit}`.trim(),
    r.target === undefined ? '' : `${r.target.op} ${r.target.value} ${r.unit}`,
    r.target === undefined ? '' : (r.target.op === '<' ? r.value < r.target.value : r.value > r.target.value) ? 'yes' : 'NO',
    r.note ?? '',
  ]),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
for (const [i, row] of table.entries()) {
  console.log(row.map((c, j) => c.padEnd(widths[j]!)).join('  ').trimEnd());
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
process.exit(failed > 0 ? 1 : 0);
