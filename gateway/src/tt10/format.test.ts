import { DeviceStatus } from '@envmon/protocol';
import { describe, expect, it } from 'vitest';
import { averageWindow, expandTemplate, fileNameStamp, formatTt10, formatValue, parseTt10Time, tt10FileName, tt10Time, type Tt10Param } from './format.ts';

const T = Date.parse('2025-03-09T23:05:00Z'); // 2025-03-10 06:05:00 in Vietnam
const PM25: Tt10Param = { code: 'PM2_5', symbol: 'PM2,5', unit: 'ug/Nm3', decimals: 1 };
const PH: Tt10Param = { code: 'PH', symbol: 'pH', unit: '', decimals: 2 };

describe('TT10 file format', () => {
  it('names files TenTinh_TenCoSo_TenTram_yyyyMMddHHmmss.txt in local time', () => {
    expect(tt10Time(T, 420)).toBe('20250310060500');
    expect(tt10Time(T, 0)).toBe('20250309230500');
    expect(tt10FileName({ province: 'HN', facility: 'ABCD', station: 'NUO001' }, T, 420)).toBe('HN_ABCD_NUO001_20250310060500.txt');
    expect(fileNameStamp('HN_ABCD_NUO001_20250310060500.txt')).toBe('20250310060500');
    expect(fileNameStamp('notes.txt')).toBeUndefined();
  });

  it('parses stamps back and refuses impossible ones', () => {
    expect(parseTt10Time('20250310060500', 420)).toBe(T);
    expect(parseTt10Time('20251310060500', 420)).toBeNaN();
    expect(parseTt10Time('20250230000000', 420)).toBeNaN();
    expect(parseTt10Time('2025031006050', 420)).toBeNaN();
  });

  it('writes TAB-separated lines with precision, empty values and status codes', () => {
    const text = formatTt10(
      [
        { param: PM25, value: 12.345, status: DeviceStatus.MEASURING },
        { param: PH, value: 7, status: DeviceStatus.CALIBRATING },
        { param: PM25, value: null, status: DeviceStatus.DEVICE_ERROR },
      ],
      T,
      { utcOffsetMin: 420, lineEnding: '\r\n' },
    );
    expect(text).toBe('PM2,5\t12.3\tug/Nm3\t20250310060500\t00\r\npH\t7.00\t\t20250310060500\t01\r\nPM2,5\t\tug/Nm3\t20250310060500\t02\r\n');
    expect(formatValue(-0.001, 2)).toBe('0.00');
    expect(formatValue(Number.NaN, 2)).toBe('');
  });

  it('averages a window: measuring values first, then calibration, else an empty 02', () => {
    const params: Tt10Param[] = [PM25, PH, { code: 'COD', symbol: 'COD', unit: 'mg/L', decimals: 1 }, { code: 'TSS', symbol: 'TSS', unit: 'mg/L', decimals: 1 }];
    const r = averageWindow(
      params,
      [
        { param: 'PM2_5', value: 10, status: 0 },
        { param: 'PM2_5', value: 20, status: 0 },
        { param: 'PM2_5', value: 500, status: 1 },
        { param: 'PM2_5', value: null, status: 2 },
        { param: 'PH', value: 6.5, status: 1 },
        { param: 'PH', value: 7.5, status: 1 },
        { param: 'COD', value: null, status: 2 },
      ],
      'error',
    );
    expect(r.map((x) => [x.param.code, x.value, x.status])).toEqual([
      ['PM2_5', 15, 0],
      ['PH', 7, 1],
      ['COD', null, 2],
      ['TSS', null, 2],
    ]);
    // omit: a parameter that sent nothing has no line; one that sent only errors still has its 02 line.
    expect(averageWindow(params, [{ param: 'COD', value: null, status: 2 }], 'omit').map((x) => x.param.code)).toEqual(['COD']);
  });

  it('expands folder templates in local time without touching names', () => {
    const names = { province: 'HN', facility: 'MMdd', station: 'S1' };
    expect(expandTemplate('yyyy/MM/dd', T, 420, names)).toBe('2025/03/10');
    expect(expandTemplate('{station}/yyyy/ThangMM/yyyyMMdd', T, 420, names)).toBe('S1/2025/Thang03/20250310');
    expect(expandTemplate('{facility}/HH', T, 420, names)).toBe('MMdd/06');
  });
});
