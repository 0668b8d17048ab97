import { catalogue } from '@envmon/protocol';
import { formatDuration } from './duration.ts';
import type { AlarmView } from './types.ts';

export type Lang = 'vi' | 'en';

export function paramName(code: string, lang: Lang): string {
  if (code === '*') return lang === 'vi' ? 'trạm' : 'station';
  return catalogue().get(code)?.name[lang] ?? code;
}

export function paramUnit(code: string): string {
  return catalogue().get(code)?.unit ?? '';
}

export function formatValue(code: string, v: number | null): string {
  if (v === null) return '–';
  const d = catalogue().get(code)?.decimals ?? 2;
  return `${Number(v.toFixed(d))}`;
}

/** Local Vietnamese time "HH:mm dd/MM" (UTC+7), the way recipients read it. */
export function vnTime(ms: number): string {
  const d = new Date(ms + 7 * 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())} ${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}`;
}

/**
 * One line saying what is wrong, in the recipient's language, e.g.
 * "Bụi PM2.5 TB 24 giờ 52.3 µg/Nm³ > 50 µg/Nm³ (QCVN 05:2023 ...)" / "station silent for 5 min".
 */
export function describeAlarm(a: AlarmView, lang: Lang, windowMs?: number, silentMs?: number): string {
  const name = paramName(a.param, lang);
  const unit = paramUnit(a.param);
  switch (a.kind) {
    case 'silent':
      return lang === 'vi'
        ? `trạm mất tín hiệu${silentMs ? ` quá ${formatDuration(silentMs, 'vi')}` : ''}`
        : `station silent${silentMs ? ` for more than ${formatDuration(silentMs, 'en')}` : ''}`;
    case 'device_fault':
      return lang === 'vi' ? `thiết bị đo ${name} báo lỗi (trạng thái 02)` : `${name} analyser reports a fault (status 02)`;
    case 'flatline':
      return lang === 'vi' ? `${name} không đổi (${formatValue(a.param, a.value)} ${unit}) – nghi thiết bị treo` : `${name} flat at ${formatValue(a.param, a.value)} ${unit} – analyser may be stuck`;
    case 'rate_of_change':
      return lang === 'vi' ? `${name} thay đổi bất thường (${formatValue(a.param, a.value)} ${unit}/phút)` : `${name} changing abnormally fast (${formatValue(a.param, a.value)} ${unit}/min)`;
    case 'threshold': {
      const mean = windowMs ? (lang === 'vi' ? ` TB ${formatDuration(windowMs, 'vi')}` : ` ${formatDuration(windowMs, 'en')} mean`) : '';
      const lim = a.limit;
      const op = lim?.above !== undefined && a.value !== null && a.value > lim.above ? '>' : '<';
      const bound = op === '>' ? lim?.above : lim?.below;
      const src = lim?.profile ? ` ${profileShort(lim.profile)}${lim.unconfirmed ? (lang === 'vi' ? ' (chưa xác nhận)' : ' (unconfirmed)') : ''}` : '';
      return `${name}${mean} ${formatValue(a.param, a.value)} ${unit} ${op} ${bound ?? '?'}${src}`.replace(/\s+/g, ' ').trim();
    }
  }
}

/** "qcvn-05-2023" → "QCVN 05:2023". */
export function profileShort(id: string): string {
  const m = /^qcvn-(\d+)-(\d{4})$/.exec(id);
  return m ? `QCVN ${m[1]}:${m[2]}` : id;
}
