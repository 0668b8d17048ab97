import { describe, expect, it } from 'vitest';
import {
  REGISTER_TYPES,
  WORD_ORDERS,
  decodeRegisters,
  encodeRegisters,
  isSentinel,
  rawRange,
  wordCount,
  type RegisterType,
  type WordOrder,
} from './registers.ts';

// Wire words for known values, written out by hand from the byte layouts (not computed by the code under test).
const KNOWN: { type: RegisterType; value: number; words: Record<WordOrder, number[]> }[] = [
  { type: 'uint32', value: 0x12345678, words: { ABCD: [0x1234, 0x5678], CDAB: [0x5678, 0x1234], BADC: [0x3412, 0x7856], DCBA: [0x7856, 0x3412] } },
  { type: 'int32', value: -2, words: { ABCD: [0xffff, 0xfffe], CDAB: [0xfffe, 0xffff], BADC: [0xffff, 0xfeff], DCBA: [0xfeff, 0xffff] } },
  { type: 'int32', value: 0x01020304, words: { ABCD: [0x0102, 0x0304], CDAB: [0x0304, 0x0102], BADC: [0x0201, 0x0403], DCBA: [0x0403, 0x0201] } },
  // 1.0f = 0x3F800000
  { type: 'float32', value: 1, words: { ABCD: [0x3f80, 0x0000], CDAB: [0x0000, 0x3f80], BADC: [0x803f, 0x0000], DCBA: [0x0000, 0x803f] } },
  // -123.5f = 0xC2F70000
  { type: 'float32', value: -123.5, words: { ABCD: [0xc2f7, 0x0000], CDAB: [0x0000, 0xc2f7], BADC: [0xf7c2, 0x0000], DCBA: [0x0000, 0xf7c2] } },
  // 3.14159274f = 0x40490FDB
  { type: 'float32', value: Math.fround(Math.PI), words: { ABCD: [0x4049, 0x0fdb], CDAB: [0x0fdb, 0x4049], BADC: [0x4940, 0xdb0f], DCBA: [0xdb0f, 0x4940] } },
  { type: 'int16', value: -2, words: { ABCD: [0xfffe], CDAB: [0xfffe], BADC: [0xfeff], DCBA: [0xfeff] } },
  { type: 'int16', value: 0x1234, words: { ABCD: [0x1234], CDAB: [0x1234], BADC: [0x3412], DCBA: [0x3412] } },
  { type: 'uint16', value: 0xabcd, words: { ABCD: [0xabcd], CDAB: [0xabcd], BADC: [0xcdab], DCBA: [0xcdab] } },
];

// Values at and near the edges of each type, plus ordinary ones.
const SAMPLES: Record<RegisterType, number[]> = {
  int16: [-32768, -32767, -1, 0, 1, 255, 256, 12345, 32767],
  uint16: [0, 1, 255, 256, 0x7fff, 0x8000, 0xfffe, 0xffff],
  int32: [-2147483648, -65536, -65535, -1, 0, 1, 65535, 65536, 2147483647],
  uint32: [0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff],
  float32: [0, -0, 1, -1, 0.1, 1e-38, 3.4e38, -9999, 28.35, Infinity, -Infinity],
};

describe('register codec', () => {
  for (const k of KNOWN) {
    for (const order of WORD_ORDERS) {
      it(`${k.type} ${k.value} in ${order} is [${k.words[order].map((w) => w.toString(16)).join(', ')}]`, () => {
        expect(encodeRegisters(k.value, k.type, order)).toEqual(k.words[order]);
        expect(decodeRegisters(k.words[order], k.type, order)).toBe(k.value);
      });
    }
  }

  for (const type of REGISTER_TYPES) {
    for (const order of WORD_ORDERS) {
      it(`round-trips ${type} in ${order}`, () => {
        for (const v of SAMPLES[type]) {
          const words = encodeRegisters(v, type, order);
          expect(words).toHaveLength(wordCount(type));
          for (const w of words) expect(w >= 0 && w <= 0xffff && Number.isInteger(w)).toBe(true);
          expect(decodeRegisters(words, type, order)).toBe(type === 'float32' ? Math.fround(v) : v);
        }
      });
    }
  }

  it('orders differ from each other for a 32-bit value whose bytes are all distinct', () => {
    const all = WORD_ORDERS.map((o) => encodeRegisters(0x11223344, 'uint32', o).join(','));
    expect(new Set(all).size).toBe(4);
  });

  it('float32 NaN decodes to NaN in every order, and encodes to a NaN pattern', () => {
    for (const order of WORD_ORDERS) {
      expect(decodeRegisters(encodeRegisters(NaN, 'float32', order), 'float32', order)).toBeNaN();
    }
    // 0x7FC00000 is the canonical quiet NaN; 0xFFFFFFFF is another NaN devices use as "no value".
    expect(decodeRegisters([0x7fc0, 0x0000], 'float32', 'ABCD')).toBeNaN();
    expect(decodeRegisters([0x0000, 0x7fc0], 'float32', 'CDAB')).toBeNaN();
    expect(decodeRegisters([0xffff, 0xffff], 'float32', 'DCBA')).toBeNaN();
  });

  it('rounds a float32 to single precision', () => {
    expect(decodeRegisters(encodeRegisters(0.1, 'float32'), 'float32')).toBe(Math.fround(0.1));
    expect(decodeRegisters(encodeRegisters(0.1, 'float32'), 'float32')).not.toBe(0.1);
  });

  it('refuses integers outside their type and non-integers', () => {
    for (const type of ['int16', 'uint16', 'int32', 'uint32'] as const) {
      const [lo, hi] = rawRange(type);
      expect(() => encodeRegisters(lo - 1, type)).toThrow(RangeError);
      expect(() => encodeRegisters(hi + 1, type)).toThrow(RangeError);
      expect(() => encodeRegisters(1.5, type)).toThrow(/does not fit/);
      expect(() => encodeRegisters(NaN, type)).toThrow(RangeError);
    }
  });

  it('refuses too few words and words outside 0..65535', () => {
    expect(() => decodeRegisters([1], 'float32')).toThrow(/needs 2/);
    expect(() => decodeRegisters([], 'int16')).toThrow(/needs 1/);
    expect(() => decodeRegisters([70000], 'uint16')).toThrow(/not 0..65535/);
    expect(() => decodeRegisters([-1], 'int16')).toThrow(/not 0..65535/);
  });

  it('reads only the words it needs from a longer block', () => {
    expect(decodeRegisters([0x0001, 0x0002, 0x0003], 'uint32', 'ABCD')).toBe(0x00010002);
    expect(decodeRegisters([0x00ff, 0x9999], 'int16')).toBe(255);
  });
});

describe('sentinels', () => {
  it('match integer raw values exactly', () => {
    expect(isSentinel(-32768, 'int16', [-32768])).toBe(true);
    expect(isSentinel(-32767, 'int16', [-32768])).toBe(false);
    expect(isSentinel(0xffff, 'uint16', [0xffff, 0xfffe])).toBe(true);
    expect(isSentinel(0xffffffff, 'uint32', [0xffffffff])).toBe(true);
    expect(isSentinel(5, 'uint32', [])).toBe(false);
  });

  it('match float32 sentinels at single precision, after a round trip through registers', () => {
    for (const s of [-9999, -9999.9, 1e30]) {
      for (const order of WORD_ORDERS) {
        const raw = decodeRegisters(encodeRegisters(s, 'float32', order), 'float32', order);
        expect(isSentinel(raw, 'float32', [s])).toBe(true);
      }
    }
    expect(isSentinel(-9998, 'float32', [-9999])).toBe(false);
  });

  it('never treat NaN as a sentinel (NaN is handled separately as "no value")', () => {
    expect(isSentinel(NaN, 'float32', [NaN])).toBe(false);
  });
});
