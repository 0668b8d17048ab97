import { describe, expect, it } from 'vitest';
import { encodeLines, toLine } from './line-protocol.ts';
import type { StoredReading } from './store.ts';

const base: StoredReading = { station: 'ST1', param: 'PM10', time: 1_764_000_000_123, value: 12.5, status: 0, qc_flags: 0, period_s: 0 };

describe('encodeLines', () => {
  it('writes exactly what toLine writes, joined by newlines', () => {
    const values = [0, -0, 1, -1, 9, 10, 99, 100, 12.5, -0.001, 1e21, 1e-7, 123456789, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, 1.7976931348623157e308, -5e-324, Math.PI, null];
    const times = [0, 1, 9, 10, 999_999_999, 1_000_000_000, 1_000_000_001, 1_764_000_000_123, 2 ** 53 - 1, -1, -1_764_000_000_123];
    const readings: StoredReading[] = [];
    for (const value of values) readings.push({ ...base, value });
    for (const time of times) readings.push({ ...base, time });
    for (const qc_flags of [0, 7, 4294967295, 2 ** 40]) readings.push({ ...base, qc_flags });
    for (const status of [0, 1, 2, 255, 1e300]) readings.push({ ...base, status: status as 0 });
    readings.push({ ...base, station: 'Trạm Ω,1=x', param: 'PM2_5', period_s: 300 });
    const body = encodeLines(readings).toString('utf8');
    expect(body).toBe(readings.map(toLine).join('\n'));
    // A slice of the readings, as the store sends in chunks.
    expect(encodeLines(readings, 3, 7).toString('utf8')).toBe(readings.slice(3, 7).map(toLine).join('\n'));
    expect(encodeLines([]).length).toBe(0);
  });

  it('prints every kind of value as String() does: decimals, fractions, tiny, huge, negative', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const values: number[] = [0.1 + 0.2, 1.1, 2.675, 1.005, 999_999_999.999, -999_999_999.999, 0.001, -0.001, 0.0005, 1e-6, 1.5e-7, 123.456e6];
    for (let i = 0; i < 200_000; i++) {
      const kind = i % 5;
      const x = next();
      if (kind === 0) values.push(Math.round((x - 0.5) * 2e6) / 10); // one decimal
      else if (kind === 1) values.push(Math.round((x - 0.5) * 2e7) / 100); // two
      else if (kind === 2) values.push(Math.round((x - 0.5) * 2e9) / 1000); // three, up to 10^6
      else if (kind === 3) values.push((x - 0.5) * 10 ** Math.floor(next() * 24 - 8)); // anything
      else values.push(Math.round(x * 1e12) / 10 ** (1 + Math.floor(next() * 4))); // near and above 10^9
    }
    const readings = values.map((value) => ({ ...base, value }));
    const lines = encodeLines(readings).toString('utf8').split('\n');
    for (let i = 0; i < values.length; i++) {
      if (lines[i] !== toLine(readings[i]!)) expect({ value: values[i], line: lines[i] }).toEqual({ value: values[i], line: toLine(readings[i]!) });
    }
  });
});
