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

  it('names what is wrong in a bad payload', () => {
    expect(() => decodeBatch(new Uint8Array())).toThrow(DecodeError);
    expect(() => decodeBatch(encodeBatch(batch).subarray(0, 20))).toThrow(/not a protobuf/);
    expect(() => decodeBatch(Buffer.from('{"station":1}'))).toThrow(/"station" must be a string/);
    expect(() => decodeBatch(Buffer.from('{"station":"S","seq":1,"readings":[{"param":"PH","time":1,"status":7}]}'))).toThrow(
      /readings\[0\]\.status/,
    );
  });
});
