import { catalogue } from '@envmon/protocol';
import { describe, expect, it } from 'vitest';
import { parseStamp, parseTt10, symbolKey, symbolMap, Tt10FormatError } from './parse.ts';

const air = symbolMap(catalogue(), 'air');
const water = symbolMap(catalogue(), 'water');
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const T = Date.parse('2025-03-10T10:05:00+07:00');
const NAME = 'HN_ABCD_KK001_20250310100500.txt';

describe('TT10 file parsing', () => {
  it('reads CRLF, a BOM, comma decimals, PM2,5 and empty values', () => {
    const text = '\ufeffPM2,5\t12,5\tug/Nm3\t20250310100500\t00\r\nPM10\t\tug/Nm3\t20250310100500\t02\r\nSO2\t3.25\tug/Nm3\t20250310100500\t1\r\n\r\n';
    const p = parseTt10(NAME, bytes(text), air, 420);
    expect(p).toMatchObject({ prefix: 'HN_ABCD_KK001', stamp: '20250310100500', fileTime: T });
    expect(p.readings).toEqual([
      { param: 'PM2_5', time: T, value: 12.5, status: 0, qc_flags: 0, period_s: 0 },
      { param: 'PM10', time: T, value: null, status: 2, qc_flags: 0, period_s: 0 },
      { param: 'SO2', time: T, value: 3.25, status: 1, qc_flags: 0, period_s: 0 },
    ]);
  });

  it('reads LF and lone CR, maps Temp by the station medium, PM2.5 and PM25 spellings, and passes unknown symbols on', () => {
    const text = 'Temp\t25.1\toC\t20250310100500\t00\nPM2.5\t1\tug/Nm3\t20250310100500\t00\rpm25\t2\tug/Nm3\t20250310100500\t00\nColour\t7\tPt/Co\t20250310100500\t00\t\n';
    expect(parseTt10(NAME, bytes(text), water, 420).readings.map((r) => r.param)).toEqual(['WTEMP', 'PM2_5', 'PM2_5', 'Colour']);
    expect(parseTt10(NAME, bytes(text), air, 420).readings[0]!.param).toBe('TEMP');
    expect(parseTt10(NAME, bytes(text), symbolMap(catalogue(), 'air', { Colour: 'COD' }), 420).readings[3]!.param).toBe('COD');
    expect(symbolKey('PM2,5')).toBe(symbolKey('PM2_5'));
  });

  it('rejects malformed files with the line and what is wrong', () => {
    const bad = (text: string, name = NAME): string => {
      try {
        parseTt10(name, bytes(text), air, 420);
      } catch (err) {
        expect(err).toBeInstanceOf(Tt10FormatError);
        return (err as Error).message;
      }
      throw new Error('parsed');
    };
    expect(bad('PM10\t1\tug/Nm3\t20250310100500\t00\nPM2,5\t1\tug/Nm3\t20250310100500\n')).toMatch(/^line 2: expected 5 TAB-separated fields.*found 4/);
    expect(bad('PM10 1 ug/Nm3 20250310100500 00\n')).toMatch(/line 1: expected 5/);
    expect(bad('PM10\t1,2.3\tug/Nm3\t20250310100500\t00\n')).toMatch(/line 1: value "1,2.3" of PM10 is not a number/);
    expect(bad('PM10\tabc\tug/Nm3\t20250310100500\t00\n')).toMatch(/not a number/);
    expect(bad('PM10\t1\tug/Nm3\t20251310100500\t00\n')).toMatch(/time "20251310100500" of PM10 is not yyyyMMddHHmmss/);
    expect(bad('PM10\t1\tug/Nm3\t20250310100500\t03\n')).toMatch(/status "03" of PM10 is not 00, 01 or 02/);
    expect(bad('\r\n\r\n')).toMatch(/no data line/);
    expect(bad('PM10\t1\tug/Nm3\t20250310100500\t00\n', 'data.txt')).toMatch(/file name "data.txt"/);
  });

  it('reads stamps in the configured time zone', () => {
    expect(parseStamp('20250310100500', 420)).toBe(T);
    expect(parseStamp('20250310100500', 0)).toBe(Date.parse('2025-03-10T10:05:00Z'));
    expect(parseStamp('20250229000000', 420)).toBeNaN();
  });
});
