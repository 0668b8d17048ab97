import { describe, expect, it } from 'vitest';
import { formatAge, formatClock, formatTime, formatValue, qcFlagNames, statusCode, tickDecimals } from './format.ts';

describe('formatValue', () => {
  it('uses exactly the catalogue decimals, in each language notation', () => {
    expect(formatValue(12.345, 1, 'vi')).toBe('12,3');
    expect(formatValue(12.345, 1, 'en')).toBe('12.3');
    expect(formatValue(7, 2, 'vi')).toBe('7,00');
    expect(formatValue(1234.56, 0, 'vi')).toBe('1.235');
    expect(formatValue(1234.56, 0, 'en')).toBe('1,235');
    expect(formatValue(42123.456, 2, 'vi')).toBe('42.123,46');
  });

  it('shows a dash for a missing or non-finite value', () => {
    expect(formatValue(null, 1, 'vi')).toBe('—');
    expect(formatValue(Number.NaN, 1, 'en')).toBe('—');
    expect(formatValue(Number.POSITIVE_INFINITY, 1, 'en')).toBe('—');
  });

  it('never prints a negative zero', () => {
    expect(formatValue(-0.04, 1, 'vi')).toBe('0,0');
    expect(formatValue(-0.4, 0, 'en')).toBe('0');
    expect(formatValue(-1.25, 1, 'en')).toBe('-1.3');
  });

  it('tolerates odd decimals from a hand-edited catalogue', () => {
    expect(formatValue(3.14159, -1, 'en')).toBe('3');
    expect(formatValue(3.14159, 2.7, 'en')).toBe('3.14');
  });
});

describe('formatAge', () => {
  const now = 1_800_000_000_000;
  it('counts seconds, then minutes, hours and days', () => {
    expect(formatAge(now - 12_000, now, 'vi')).toBe('12 s trước');
    expect(formatAge(now - 12_000, now, 'en')).toBe('12 s ago');
    expect(formatAge(now - 59_999, now, 'en')).toBe('59 s ago');
    expect(formatAge(now - 60_000, now, 'en')).toBe('1 min ago');
    expect(formatAge(now - 5 * 60_000 - 10, now, 'vi')).toBe('5 phút trước');
    expect(formatAge(now - 3 * 3600_000, now, 'vi')).toBe('3 giờ trước');
    expect(formatAge(now - 47 * 3600_000, now, 'en')).toBe('47 h ago');
    expect(formatAge(now - 3 * 86_400_000, now, 'vi')).toBe('3 ngày trước');
  });

  it('reads a future time (station clock ahead) as 0 s, and no time as no data', () => {
    expect(formatAge(now + 5000, now, 'en')).toBe('0 s ago');
    expect(formatAge(null, now, 'vi')).toBe('chưa có dữ liệu');
    expect(formatAge(null, now, 'en')).toBe('no data yet');
  });
});

describe('times', () => {
  // 2026-11-22 20:48:31 UTC = 2026-11-23 03:48:31 in Vietnam (UTC+7, no daylight saving).
  const t = Date.UTC(2026, 10, 22, 20, 48, 31);
  it('shows Vietnam time whatever the machine time zone, with the date only when it is not today', () => {
    expect(formatTime(t, t + 60_000, 'vi')).toBe('03:48:31');
    expect(formatTime(t, t + 60_000, 'en')).toBe('03:48:31');
    expect(formatTime(t, t + 86_400_000, 'vi')).toBe('23/11/2026 03:48:31');
    expect(formatTime(t, t + 86_400_000, 'en')).toBe('23/11/2026 03:48:31');
  });

  it('formats chart axis clocks in 24-hour Vietnam time', () => {
    expect(formatClock(t, false, 'en')).toBe('03:48');
    expect(formatClock(t, true, 'vi')).toBe('03:48:31');
    expect(formatClock(Date.UTC(2026, 10, 22, 6, 5), false, 'en')).toBe('13:05');
  });
});

describe('status and QC flags', () => {
  it('gives the TT10 two-digit status code', () => {
    expect([0, 1, 2].map(statusCode)).toEqual(['00', '01', '02']);
  });

  it('names the QC flag bits and ignores unknown ones', () => {
    expect(qcFlagNames(0, 'en')).toEqual([]);
    expect(qcFlagNames(0b10010, 'en')).toEqual(['Spike', 'Replayed']);
    expect(qcFlagNames(1 | (1 << 10), 'vi')).toEqual(['Ngoài khoảng hợp lý']);
  });
});

describe('tickDecimals', () => {
  it('shows each axis step exactly', () => {
    expect(tickDecimals(20)).toBe(0);
    expect(tickDecimals(1)).toBe(0);
    expect(tickDecimals(2.5)).toBe(1);
    expect(tickDecimals(0.5)).toBe(1);
    expect(tickDecimals(0.02)).toBe(2);
    expect(tickDecimals(0.0025)).toBe(4);
  });
});
