/**
 * Modbus register codec: turns 16-bit register words into numbers and back.
 *
 * Modbus itself only defines 16-bit big-endian registers; how a device spreads a 32-bit value over two of them
 * is the vendor's choice. We name the layouts by the order in which the bytes of the big-endian value `A B C D`
 * (A = most significant) appear on the wire:
 *
 * | order | registers        | common name                      |
 * |-------|------------------|----------------------------------|
 * | ABCD  | [AB] [CD]        | big-endian (Modicon default)     |
 * | CDAB  | [CD] [AB]        | word-swapped ("little-endian words", many analysers and PLCs) |
 * | BADC  | [BA] [DC]        | byte-swapped within each word    |
 * | DCBA  | [DC] [BA]        | fully reversed (little-endian)   |
 *
 * A 16-bit value has only bytes `A B`: ABCD and CDAB read it as [AB], BADC and DCBA as [BA] (byte-swapped).
 */

export const REGISTER_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'float32'] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];

export const WORD_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type WordOrder = (typeof WORD_ORDERS)[number];

/** How many 16-bit registers a value of this type occupies. */
export function wordCount(type: RegisterType): 1 | 2 {
  return type === 'int16' || type === 'uint16' ? 1 : 2;
}

/** The smallest and largest raw value a type can hold (float32: the largest finite magnitude). */
export function rawRange(type: RegisterType): [number, number] {
  switch (type) {
    case 'int16':
      return [-0x8000, 0x7fff];
    case 'uint16':
      return [0, 0xffff];
    case 'int32':
      return [-0x80000000, 0x7fffffff];
    case 'uint32':
      return [0, 0xffffffff];
    case 'float32':
      return [-3.4028234663852886e38, 3.4028234663852886e38];
  }
}

/**
 * Decodes one value from `words` (each 0..65535, as modbus-serial returns them in `data`).
 * Returns the raw number: scaling, offsets and sentinels are the caller's business. A float32 NaN stays NaN.
 */
export function decodeRegisters(words: readonly number[], type: RegisterType, order: WordOrder = 'ABCD'): number {
  const n = wordCount(type);
  if (words.length < n) throw new RangeError(`${type} needs ${n} register(s), got ${words.length}`);
  const bytes = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) {
    const w = words[i]!;
    if (!Number.isInteger(w) || w < 0 || w > 0xffff) throw new RangeError(`register word ${i} is ${w}, not 0..65535`);
    bytes.writeUInt16BE(w, 2 * i);
  }
  const be = toBigEndian(bytes, order);
  switch (type) {
    case 'int16':
      return be.readInt16BE(0);
    case 'uint16':
      return be.readUInt16BE(0);
    case 'int32':
      return be.readInt32BE(0);
    case 'uint32':
      return be.readUInt32BE(0);
    case 'float32':
      return be.readFloatBE(0);
  }
}

/**
 * Encodes a raw value into register words (the simulator's direction). Integer types require an integer
 * inside the type's range; float32 accepts any number (rounded to single precision), NaN and ±Infinity included.
 */
export function encodeRegisters(value: number, type: RegisterType, order: WordOrder = 'ABCD'): number[] {
  const be = Buffer.alloc(2 * wordCount(type));
  if (type !== 'float32') {
    const [lo, hi] = rawRange(type);
    if (!Number.isInteger(value) || value < lo || value > hi) {
      throw new RangeError(`${value} does not fit ${type} (integers ${lo}..${hi})`);
    }
  }
  switch (type) {
    case 'int16':
      be.writeInt16BE(value, 0);
      break;
    case 'uint16':
      be.writeUInt16BE(value, 0);
      break;
    case 'int32':
      be.writeInt32BE(value, 0);
      break;
    case 'uint32':
      be.writeUInt32BE(value, 0);
      break;
    case 'float32':
      be.writeFloatBE(value, 0);
      break;
  }
  const wire = fromBigEndian(be, order);
  const words: number[] = [];
  for (let i = 0; i < wire.length; i += 2) words.push(wire.readUInt16BE(i));
  return words;
}

/**
 * Byte positions: for each wire byte index, which big-endian byte it carries. Every mapping is its own
 * inverse (a swap of words and/or of bytes), so the same table serves decoding and encoding.
 */
const PERMUTATION: Record<WordOrder, { 1: number[]; 2: number[] }> = {
  ABCD: { 1: [0, 1], 2: [0, 1, 2, 3] },
  CDAB: { 1: [0, 1], 2: [2, 3, 0, 1] },
  BADC: { 1: [1, 0], 2: [1, 0, 3, 2] },
  DCBA: { 1: [1, 0], 2: [3, 2, 1, 0] },
};

function permute(src: Buffer, order: WordOrder): Buffer {
  const map = PERMUTATION[order][src.length === 2 ? 1 : 2];
  const out = Buffer.alloc(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[map[i]!]!;
  return out;
}

function toBigEndian(wire: Buffer, order: WordOrder): Buffer {
  return permute(wire, order);
}

function fromBigEndian(be: Buffer, order: WordOrder): Buffer {
  return permute(be, order);
}

/**
 * True when a raw register value is one of the device's "no value" markers. Float sentinels are compared at
 * single precision, because that is all the register can carry (-9999.9 written as float32 is not -9999.9).
 */
export function isSentinel(raw: number, type: RegisterType, sentinels: readonly number[]): boolean {
  if (sentinels.length === 0) return false;
  if (type === 'float32') return sentinels.some((s) => Math.fround(s) === raw);
  return sentinels.includes(raw);
}
