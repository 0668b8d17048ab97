/** Pure formatting of values, ages and times for display. No DOM here, so all of it is unit-tested under Node. */
import type { Lang } from './api.ts';
import { t, type MessageKey } from './i18n.ts';

/**
 * Times are shown in Vietnam time whatever the viewer's machine says: wall screens and station PCs often run
 * on UTC, and the regulations (TT10/2021 files, QCVN averaging periods) are written in local time.
 */
export const TIME_ZONE = 'Asia/Ho_Chi_Minh';

const LOCALE: Record<Lang, string> = { vi: 'vi-VN', en: 'en-GB' };

const numberFormats = new Map<string, Intl.NumberFormat>();

/**
 * A value with exactly the catalogue's number of decimals, in the language's notation (vi: `1.234,5`,
 * en: `1,234.5`). null (the device gave no usable value) and non-finite numbers show as an em dash.
 */
export function formatValue(value: number | null, decimals: number, lang: Lang): string {
  if (value === null || !Number.isFinite(value)) return '—';
  const d = Math.max(0, Math.min(20, Math.trunc(decimals)));
  const key = `${lang}:${d}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(LOCALE[lang], { minimumFractionDigits: d, maximumFractionDigits: d });
    numberFormats.set(key, f);
  }
  const s = f.format(value);
  // Rounding a tiny negative to zero would print "-0,0"; nobody should read that as a negative concentration.
  return /^-0([.,]0*)?$/.test(s) ? s.slice(1) : s;
}

/**
 * How long ago `time` was, coarse enough to read at a glance: seconds under a minute, minutes under an hour,
 * hours under two days, then days. A time in the future (clock skew between station and server) reads as 0 s.
 */
export function formatAge(time: number | null, now: number, lang: Lang): string {
  if (time === null) return t(lang, 'station.noData');
  const s = Math.max(0, Math.floor((now - time) / 1000));
  if (s < 60) return t(lang, 'age.s', { n: s });
  const min = Math.floor(s / 60);
  if (min < 60) return t(lang, 'age.min', { n: min });
  const h = Math.floor(min / 60);
  if (h < 48) return t(lang, 'age.h', { n: h });
  return t(lang, 'age.d', { n: Math.floor(h / 24) });
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * Clock time of a reading in Vietnam time; the date is added only when it is not today's, so the usual case
 * (live data) stays short on a phone.
 */
export function formatTime(time: number, now: number, lang: Lang): string {
  const day = (ms: number) => dateFormat(lang, 'day').format(ms);
  const clock = dateFormat(lang, 'clock').format(time);
  return day(time) === day(now) ? clock : `${day(time)} ${clock}`;
}

function dateFormat(lang: Lang, kind: 'day' | 'clock'): Intl.DateTimeFormat {
  const key = `${lang}:${kind}`;
  let f = timeFormats.get(key);
  if (!f) {
    f =
      kind === 'day'
        ? new Intl.DateTimeFormat(LOCALE[lang], { timeZone: TIME_ZONE, day: '2-digit', month: '2-digit', year: 'numeric' })
        : new Intl.DateTimeFormat(LOCALE[lang], {
            timeZone: TIME_ZONE,
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit',
            hourCycle: 'h23',
          });
    timeFormats.set(key, f);
  }
  return f;
}

/** The two-digit TT10 status code, shown beside its name so staff who know the files recognise it. */
export function statusCode(status: number): string {
  return String(status).padStart(2, '0');
}

/**
 * The QC flag bits as `protocol/src/status.ts` (QcFlag) defines them. Mirrored, not imported: the dashboard
 * depends on the HTTP API only, and these bits are part of that API's `qc_flags` field.
 */
const QC_FLAGS: readonly (readonly [bit: number, key: MessageKey])[] = [
  [1 << 0, 'qc.range'],
  [1 << 1, 'qc.spike'],
  [1 << 2, 'qc.flatline'],
  [1 << 3, 'qc.stale'],
  [1 << 4, 'qc.replayed'],
  [1 << 5, 'qc.humidity'],
];

/** Names of the QC flags set in `flags`, in the given language; unknown bits are ignored. */
export function qcFlagNames(flags: number, lang: Lang): string[] {
  return QC_FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, key]) => t(lang, key));
}

const clockFormats = new Map<string, Intl.DateTimeFormat>();

/** `HH:mm` (or `HH:mm:ss`) in Vietnam time, 24-hour in both languages: chart axis labels. */
export function formatClock(time: number, withSeconds: boolean, lang: Lang): string {
  const key = `${lang}:${withSeconds}`;
  let f = clockFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(LOCALE[lang], {
      timeZone: TIME_ZONE,
      hour: '2-digit',
      minute: '2-digit',
      ...(withSeconds ? { second: '2-digit' } : {}),
      hourCycle: 'h23',
    });
    clockFormats.set(key, f);
  }
  return f.format(time);
}

/** Decimals that show an axis step exactly: 0.5 → 1, 2.5 → 1, 0.02 → 2, 20 → 0. */
export function tickDecimals(incr: number): number {
  for (let d = 0; d < 6; d++) {
    const scaled = incr * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
  }
  return 6;
}
