/** The contract of a module in scripts/bench/ (run by scripts/bench.ts, `npm run bench`). */
export interface BenchFigure {
  /** What was measured, e.g. "overview 200 stations: time to interactive (median of 3)". */
  figure: string;
  value: number;
  /** ms, MB/s, readings/s, … */
  unit: string;
  /** The goal this figure is held against (from an issue or DESIGN.md), if any. */
  target?: { op: '<' | '>'; value: number };
  note?: string;
}

export interface BenchModule {
  bench(): Promise<BenchFigure[]>;
}
