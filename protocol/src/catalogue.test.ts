import { describe, expect, it } from 'vitest';
import { catalogue, parseTopic, topicFor } from './index.ts';

describe('parameter catalogue', () => {
  it('covers the air and wastewater parameters TT10 stations report', () => {
    const c = catalogue();
    for (const code of ['PM2_5', 'PM10', 'TSP', 'SO2', 'NO2', 'CO', 'O3', 'TEMP', 'RH', 'FLOW', 'WTEMP', 'PH', 'TSS', 'COD', 'NH4']) {
      expect(c.has(code), code).toBe(true);
    }
    expect(c.get('PM2_5')?.tt10).toBe('PM2,5');
    expect(c.get('PH')?.range).toEqual([0, 14]);
  });
});

describe('topics', () => {
  it('builds and parses station topics, refusing unsafe station ids', () => {
    expect(topicFor('HN_AIR01', 'data')).toBe('envmon/v1/HN_AIR01/data');
    expect(parseTopic('envmon/v1/HN_AIR01/cmd/result')).toEqual({ station: 'HN_AIR01', kind: 'cmd/result' });
    expect(parseTopic('envmon/v1/HN_AIR01/other')).toBeUndefined();
    expect(() => topicFor('a/b', 'data')).toThrow(/invalid station id/);
    expect(() => topicFor('+', 'data')).toThrow(/invalid station id/);
  });
});
