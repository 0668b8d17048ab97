import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeBatch, encodeBatch, type Batch } from './index.ts';

/**
 * decodeBatch reads protobuf field by field (codec.ts); this holds it to what protobufjs' reflective decoder and
 * toObject made of the same bytes, which it replaced: on valid batches, on batches with unknown and repeated
 * fields, on negative and 64-bit numbers, and on random and mutated bytes (same result or both refuse).
 */
const root = protobuf.parse(readFileSync(new URL('../envmon.proto', import.meta.url), 'utf8'), { keepCase: true }).root;
const BatchType = root.lookupType('envmon.v1.Batch');
const ReadingType = root.lookupType('envmon.v1.Reading');

function reference(payload: Uint8Array): Batch | 'refused' {
  let wire: { station: string; seq: number; sent_at: number; readings: Record<string, number | string | boolean>[] };
  try {
    wire = BatchType.toObject(BatchType.decode(payload), { longs: Number, enums: Number, defaults: true, arrays: true }) as typeof wire;
  } catch {
    return 'refused';
  }
  if (wire.station === '') return 'refused';
  return {
    station: wire.station,
    seq: wire.seq,
    sent_at: wire.sent_at,
    readings: wire.readings.map((r) => ({
      param: r.param as string,
      time: r.time as number,
      value: r.has_value ? (r.value as number) : null,
      status: r.status as 0,
      qc_flags: r.qc_flags as number,
      period_s: r.period_s as number,
      ...((r.period_s as number) > 0 && (r.samples as number) > 0 ? { samples: r.samples as number, coverage: r.coverage as number } : {}),
    })),
  };
}

function ours(payload: Uint8Array): Batch | 'refused' {
  try {
    return decodeBatch(payload);
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return 'refused';
  }
}

/** A small deterministic PRNG, so a failure is reproducible. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

const batch: Batch = {
  station: 'TRẠM_01',
  seq: 2 ** 40 + 7,
  sent_at: 1_764_000_000_123,
  readings: [
    { param: 'PM2_5', time: 1_764_000_000_000, value: 12.25, status: 0, qc_flags: 0, period_s: 0 },
    { param: 'SO2', time: 1_764_000_060_000, value: null, status: 2, qc_flags: 5, period_s: 0 },
    { param: 'PM10', time: 1_764_000_300_000, value: -0.5, status: 1, qc_flags: 0, period_s: 300, samples: 290, coverage: 0.9666 },
    { param: 'PM10', time: 1_764_000_600_000, value: 3, status: 0, qc_flags: 0, period_s: 60 },
  ],
};

describe('decodeBatch (protobuf)', () => {
  it('reads what encodeBatch writes, as protobufjs does', () => {
    const bytes = encodeBatch(batch);
    expect(ours(bytes)).toEqual(reference(bytes));
    expect(ours(bytes)).toEqual(batch);
  });

  it('skips unknown fields, keeps the last of a repeated scalar, reads 64-bit and negative numbers as protobufjs does', () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).string('FIRST');
    w.uint32((1 << 3) | 2).string('S1'); // last wins
    w.uint32((2 << 3) | 0).uint64(Number.MAX_SAFE_INTEGER);
    w.uint32((3 << 3) | 0).int64(-5);
    w.uint32((14 << 3) | 2).bytes(new Uint8Array([1, 2, 3])); // signature: not part of Batch's result
    w.uint32((99 << 3) | 0).uint32(42); // unknown varint
    w.uint32((98 << 3) | 1).fixed64(1); // unknown 64-bit
    const reading = ReadingType.encode(
      ReadingType.fromObject({ param: 'PH', time: -1, value: 7.1, status: 1, qc_flags: 4294967295, has_value: true, period_s: 60, samples: 3, coverage: 0.5 }),
    ).finish();
    w.uint32((4 << 3) | 2).bytes(reading);
    w.uint32((4 << 3) | 2).bytes(new Uint8Array()); // an empty reading: every field its default
    const bytes = w.finish();
    const got = ours(bytes);
    expect(got).toEqual(reference(bytes));
    expect(got).toMatchObject({ station: 'S1', seq: Number.MAX_SAFE_INTEGER, sent_at: -5 });
  });

  it('agrees with protobufjs on random and mutated bytes: the same batch, or both refuse', () => {
    const next = rng(42);
    const valid = encodeBatch(batch);
    let decodedByBoth = 0;
    for (let i = 0; i < 20_000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = Uint8Array.from(valid);
        for (let k = 1 + Math.floor(next() * 3); k > 0; k--) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
        if (next() < 0.3) bytes = bytes.subarray(0, Math.floor(next() * bytes.length));
      } else {
        bytes = Uint8Array.from({ length: 1 + Math.floor(next() * 60) }, () => Math.floor(next() * 256));
      }
      if (bytes.length === 0 || bytes[0] === 0x7b) continue;
      const want = reference(bytes);
      const got = ours(bytes);
      // protobufjs reads a string field with any wire type; both must at least agree on whether it is a batch.
      if (want === 'refused' || got === 'refused') {
        expect({ i, got: got === 'refused' }).toEqual({ i, got: want === 'refused' });
        continue;
      }
      decodedByBoth++;
      expect(got).toEqual(want);
    }
    expect(decodedByBoth).toBeGreaterThan(1000);
  });
});
