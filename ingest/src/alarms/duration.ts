import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "30s", "5m", "5min", "1h", "24h", "2d" (or a bare number of seconds) into milliseconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`duration must be a non-negative number of seconds, got ${text}`);
    return Math.round(text * 1000);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration: write e.g. 30s, 5m, 1h, 24h`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/** zod field for a duration written in YAML; the parsed value is milliseconds. */
export const Duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** "1 h", "5 min", "30 s": for messages. */
export function formatDuration(ms: number, lang: 'vi' | 'en' = 'en'): string {
  const units: [number, string, string][] = [
    [86_400_000, 'ngày', 'd'],
    [3_600_000, 'giờ', 'h'],
    [60_000, 'phút', 'min'],
    [1000, 'giây', 's'],
  ];
  for (const [size, vi, en] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${lang === 'vi' ? vi : en}`;
  }
  for (const [size, vi, en] of units) {
    if (ms >= size) return `${Math.round((ms / size) * 10) / 10} ${lang === 'vi' ? vi : en}`;
  }
  return `${ms} ms`;
}
