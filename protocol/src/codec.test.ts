import { describe, expect, it } from 'vitest';
import { DecodeError, decodeBatch, encodeBatch, encodeBatchJson, type Batch } from './index.ts';

const batch: Batch = {
  station: 'HN_AIR01',
  seq: 42,
  sent_at: 1_795_000_000_123,
  readings: [
    { param: 'PM2_5', time: 1_795_000_000_000, value: 37.5, status: 0, qc_flags: 0, period_s: 0 },
    { param: 'SO2', time: 1_795_000_000_000, value: null, status: 2, qc_flags: 0, period_s: 0 },
    { param: 'NO2', time: 1_795_000_060_000, value: 0, status: 1, qc_flags: 5, period_s: 60 },
    { param: 'PM10', time: 1_795_000_000_000, value: 41.25, status: 0, qc_flags: 32, period_s: 300, samples: 29, coverage: 29 / 30 },
    { param: 'O3', time: 1_795_000_000_000, value: 80, status: 1, qc_flags: 0, period_s: 60, samples: 6, coverage: 1 },
  ],
};

describe('batch codec', () => {
  it('round-trips protobuf, keeping missing values distinct from zero', () => {
    const bytes = encodeBatch(batch);
    expect(bytes[0]).not.toBe(0x7b);
    expect(decodeBatch(bytes)).toEqual(batch);
  });

  it('decodes the JSON twin with the same field names', () => {
    expect(decodeBatch(Buffer.from(encodeBatchJson(batch)))).toEqual(batch);
    const tiny = Buffer.from('{"station":"S1","seq":1,"readings":[{"param":"PH","time":1,"value":7.1,"status":"01"}]}');
    expect(decodeBatch(tiny).readings[0]).toEqual({ param: 'PH', time: 1, value: 7.1, status: 1, qc_flags: 0, period_s: 0 });
  });

  it('carries samples and coverage of means in the JSON twin, as in protobuf', () => {
    const json = encodeBatchJson(batch);
    expect(JSON.parse(json).readings[3]).toMatchObject({ samples: 29, coverage: 29 / 30 });
    const back = decodeBatch(Buffer.from(json));
    expect(back).toEqual(batch);
    expect(back).toEqual(decodeBatch(encodeBatch(batch)));
    const mean = (extra: string) => Buffer.from(`{"station":"S","seq":1,"readings":[{"param":"PH","time":1,"value":7,"period_s":60${extra}}]}`);
    expect(decodeBatch(mean(',"samples":5,"coverage":0.5')).readings[0]).toMatchObject({ samples: 5, coverage: 0.5 });
    expect(decodeBatch(mean(',"samples":5')).readings[0]).toMatchObject({ samples: 5, coverage: 0 });
    expect(decodeBatch(mean('')).readings[0]).not.toHaveProperty('samples');
    expect(() => decodeBatch(mean(',"samples":-1,"coverage":0.5'))).toThrow(/readings\[0\]\.samples/);
    expect(() => decodeBatch(mean(',"samples":5,"coverage":1.5'))).toThrow(/readings\[0\]\.coverage/);
  });

  it('names what is wrong in a bad payload', () => {
    expect(() => decodeBatch(new Uint8Array())).toThrow(DecodeError);
    expect(() => decodeBatch(encodeBatch(batch).subarray(0, 20))).toThrow(/not a protobuf/);
    expect(() => decodeBatch(Buffer.from('{"station":1}'))).toThrow(/"station" must be a string/);
    expect(() => decodeBatch(Buffer.from('{"station":"S","seq":1,"readings":[{"param":"PH","time":1,"status":7}]}'))).toThrow(
      /readings\[0\]\.status/,
    );
  });
});
