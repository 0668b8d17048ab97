import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch, type Batch, type Reading } from './index.ts';

/**
 * encodeBatch writes protobuf field by field (codec.ts); this holds it to the bytes protobufjs' reflective
 * fromObject + encode made of the same batch, which it replaced: on many random batches with raw readings and
 * means (samples/coverage present or not), qc_flags, null and non-finite values, every status, odd strings.
 */
const root = protobuf.parse(readFileSync(new URL('../envmon.proto', import.meta.url), 'utf8'), { keepCase: true }).root;
const BatchType = root.lookupType('envmon.v1.Batch');

/** The former encodeBatch, verbatim. */
function reference(batch: Batch): Uint8Array {
  const readings = batch.readings.map((r) => ({
    param: r.param,
    time: r.time,
    value: r.value ?? 0,
    status: r.status,
    qc_flags: r.qc_flags,
    has_value: r.value !== null && Number.isFinite(r.value),
    period_s: r.period_s,
    ...(r.period_s > 0 && r.samples !== undefined ? { samples: r.samples, coverage: r.coverage ?? 0 } : {}),
  }));
  return BatchType.encode(BatchType.fromObject({ ...batch, readings })).finish();
}

/** A small deterministic PRNG, so a failure is reproducible. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

const PARAMS = ['PM2_5', 'PM10', 'SO2', 'NO2', 'O3', 'CO', 'PH', 'DO', 'TSS', 'COD', 'TEMP', '', 'TRẠM_Ω', 'x'.repeat(200)];
const VALUES = [0, -0, 1, -1, 25.3, -9999.9, 1e-300, 1e300, 0.1 + 0.2, NaN, Infinity, -Infinity, 2 ** 53, null];

function randomReading(next: () => number): Reading {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const period_s = pick([0, 0, 0, 60, 300, 3600]);
  const value = next() < 0.5 ? pick(VALUES) : (next() - 0.5) * 10 ** Math.floor(next() * 12 - 4);
  const r: Reading = {
    param: pick(PARAMS),
    time: pick([0, 1, 0.25, -0.5, 1_764_000_000_123, 2 ** 41 + 3, -1_000, Math.floor(next() * 2 ** 42)]),
    value,
    status: pick([0, 1, 2, 3]) as Reading['status'],
    qc_flags: pick([0, 0, 1, 2, 4, 6, 0x7fffffff, 0xffffffff]),
    period_s,
  };
  if (period_s > 0 && next() < 0.8) {
    r.samples = pick([0, 1, 59, 60, 300, 3600]);
    if (next() < 0.8) r.coverage = pick([0, 0.5, 1, next()]);
  } else if (period_s === 0 && next() < 0.1) {
    r.samples = 5; // on a raw reading: never written
    r.coverage = 1;
  }
  return r;
}

describe('encodeBatch (field by field)', () => {
  it('writes the bytes protobufjs fromObject + encode wrote, on 5,000 random batches', () => {
    const next = rng(42);
    for (let i = 0; i < 5000; i++) {
      const batch: Batch = {
        station: ['ST01', 'TRẠM_01', '', 'A'.repeat(64)][i % 4]!,
        seq: [0, 1, 0.5, -3, 2 ** 40 + 7, Math.floor(next() * 2 ** 52)][Math.floor(next() * 6)]!,
        sent_at: [0, 1_764_000_000_123, Math.floor(next() * 2 ** 42)][Math.floor(next() * 3)]!,
        readings: Array.from({ length: Math.floor(next() * (i % 50 === 0 ? 600 : 20)) }, () => randomReading(next)),
      };
      const ours = encodeBatch(batch);
      expect(Buffer.from(ours).equals(Buffer.from(reference(batch))), `batch ${i}`).toBe(true);
    }
  });

  it('round-trips through decodeBatch', () => {
    const batch: Batch = {
      station: 'ST01',
      seq: 9,
      sent_at: 1_764_000_000_000,
      readings: [
        { param: 'PM2_5', time: 1_764_000_000_000, value: 12.5, status: 0, qc_flags: 4, period_s: 0 },
        { param: 'SO2', time: 1_764_000_000_000, value: null, status: 2, qc_flags: 0, period_s: 0 },
        { param: 'PM10', time: 1_764_000_000_000, value: 30, status: 1, qc_flags: 0, period_s: 60, samples: 58, coverage: 58 / 60 },
      ],
    };
    expect(decodeBatch(encodeBatch(batch))).toEqual(batch);
  });
});
