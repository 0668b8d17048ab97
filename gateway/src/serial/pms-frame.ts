import { Transform, type TransformCallback } from 'node:stream';

/**
 * Plantower PMS5003 / PMS7003 active-mode frames (Plantower "PMS5003 series data manual" V2.3 and "PMS7003
 * series data manual" V2.5, "Appendix I: transport protocol – active mode"): 32 bytes,
 *
 *   0x42 0x4d | frame length (2 × 13 + 2 = 28) | 13 data words, big-endian | check code
 *
 * data 1–3: PM1.0, PM2.5, PM10 in µg/m³ "CF=1, standard particle"; data 4–6: the same "under atmospheric
 * environment"; data 7–12: particle counts per 0.1 L (> 0.3 … > 10 µm); data 13: reserved (version/error).
 * The check code is the sum of every byte before it, modulo 65536.
 */
export interface PmsFrame {
  pm1Cf1: number;
  pm25Cf1: number;
  pm10Cf1: number;
  pm1Atm: number;
  pm25Atm: number;
  pm10Atm: number;
  counts: number[];
}

export const PMS_FRAME_LENGTH = 32;

export function encodePmsFrame(f: Omit<PmsFrame, 'counts'> & { counts?: number[] }): Buffer {
  const b = Buffer.alloc(PMS_FRAME_LENGTH);
  b[0] = 0x42;
  b[1] = 0x4d;
  b.writeUInt16BE(28, 2);
  const words = [f.pm1Cf1, f.pm25Cf1, f.pm10Cf1, f.pm1Atm, f.pm25Atm, f.pm10Atm, ...(f.counts ?? [0, 0, 0, 0, 0, 0]), 0];
  words.forEach((w, i) => b.writeUInt16BE(w, 4 + 2 * i));
  b.writeUInt16BE(checksum(b, 30), 30);
  return b;
}

function checksum(b: Buffer, end: number): number {
  let sum = 0;
  for (let i = 0; i < end; i++) sum += b[i]!;
  return sum & 0xffff;
}

export function decodePmsFrame(b: Buffer): PmsFrame {
  const w = (i: number): number => b.readUInt16BE(4 + 2 * i);
  return { pm1Cf1: w(0), pm25Cf1: w(1), pm10Cf1: w(2), pm1Atm: w(3), pm25Atm: w(4), pm10Atm: w(5), counts: [w(6), w(7), w(8), w(9), w(10), w(11)] };
}

/**
 * A stream parser (object mode out) that finds frames in the byte stream: it resynchronises on 0x42 0x4d, checks
 * the length field and the check code, and drops bytes until the next start on any mismatch (a sensor plugged in
 * mid-frame, line noise). Counts what it dropped.
 */
export class PmsFrameParser extends Transform {
  private buf = Buffer.alloc(0);
  badFrames = 0;

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const start = findStart(this.buf);
      if (start < 0) {
        this.buf = this.buf.subarray(Math.max(0, this.buf.length - 1)); // keep a trailing 0x42
        break;
      }
      if (start > 0) this.buf = this.buf.subarray(start);
      if (this.buf.length < 4) break;
      if (this.buf.readUInt16BE(2) !== 28) {
        this.badFrames++;
        this.buf = this.buf.subarray(2);
        continue;
      }
      if (this.buf.length < PMS_FRAME_LENGTH) break;
      const frame = this.buf.subarray(0, PMS_FRAME_LENGTH);
      if (frame.readUInt16BE(30) !== checksum(frame, 30)) {
        this.badFrames++;
        this.buf = this.buf.subarray(2);
        continue;
      }
      this.push(decodePmsFrame(Buffer.from(frame)));
      this.buf = this.buf.subarray(PMS_FRAME_LENGTH);
    }
    done();
  }
}

function findStart(b: Buffer): number {
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 0x42 && b[i + 1] === 0x4d) return i;
  return -1;
}
