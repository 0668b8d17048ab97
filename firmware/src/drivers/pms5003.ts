import { u16be } from '../util/bytes.ts';

/**
 * Plantower PMS5003 / PMS7003 laser particle counters over UART (9600 8N1, 3.3 V TTL).
 *
 * Frame (PMS5003 data manual 2016, "Appendix I: PMS5003 transport protocol - Active Mode"; the PMS7003 manual
 * V2.5 has the same 32-byte layout):
 *   0x42 0x4D | frame length = 2×13+2 = 28 (0x00 0x1C) | data 1..13, 16-bit big-endian | check code, 16-bit
 *   data 1..3  PM1.0, PM2.5, PM10 µg/m³ "CF=1, standard particle" (factory environment)
 *   data 4..6  PM1.0, PM2.5, PM10 µg/m³ "under atmospheric environment"  ← what an ambient station reports
 *   data 7..12 number of particles > 0.3, 0.5, 1.0, 2.5, 5.0, 10 µm in 0.1 L of air
 *   data 13    reserved (PMS7003: high byte version, low byte error code)
 *   check code = sum of bytes 0..29 (start characters to data 13), low 16 bits.
 */
export const PMS_FRAME_LEN = 32;

export interface PmsFrame {
  pm1Cf1: number;
  pm25Cf1: number;
  pm10Cf1: number;
  pm1: number;
  pm25: number;
  pm10: number;
  /** Particle counts per 0.1 L: > 0.3, 0.5, 1.0, 2.5, 5.0, 10 µm. */
  counts: number[];
  /** Data 13: reserved on the PMS5003, version/error code on the PMS7003. */
  reserved: number;
  /** The 26 data bytes as one string key, for stuck-value detection (the counts always move in real air). */
  fingerprint: string;
}

/**
 * Host commands, "Appendix II": 0x42 0x4D CMD DATAH DATAL LRCH LRCL, where LRC is the 16-bit sum of the first five
 * bytes. E1 00 = passive mode, E1 01 = active mode, E2 = read in passive mode, E4 00 = sleep, E4 01 = wake up.
 */
export function pmsCommand(cmd: number, data: number): number[] {
  const sum = 0x42 + 0x4d + cmd + ((data >> 8) & 0xff) + (data & 0xff);
  return [0x42, 0x4d, cmd, (data >> 8) & 0xff, data & 0xff, (sum >> 8) & 0xff, sum & 0xff];
}
export const PMS_CMD_ACTIVE = 0xe1; // data 1 = active, 0 = passive
export const PMS_CMD_READ = 0xe2;
export const PMS_CMD_SLEEP = 0xe4; // data 0 = sleep, 1 = wake up

/** Decodes one complete frame at `at`; returns an error string when the header, length or checksum is wrong. */
export function parsePmsFrame(b: ArrayLike<number>, at: number): PmsFrame | string {
  if (b.length - at < PMS_FRAME_LEN) return 'short frame';
  if (b[at] !== 0x42 || b[at + 1] !== 0x4d) return 'bad start characters';
  if (u16be(b, at + 2) !== 28) return 'bad frame length ' + u16be(b, at + 2);
  let sum = 0;
  for (let i = 0; i < 30; i++) sum += b[at + i]! & 0xff;
  const check = u16be(b, at + 30);
  if ((sum & 0xffff) !== check) return 'checksum ' + (sum & 0xffff) + ' != ' + check;
  const d = (n: number): number => u16be(b, at + 2 + 2 * n);
  let fp = '';
  for (let i = 4; i < 30; i++) fp += String.fromCharCode(b[at + i]! & 0xff);
  return {
    pm1Cf1: d(1),
    pm25Cf1: d(2),
    pm10Cf1: d(3),
    pm1: d(4),
    pm25: d(5),
    pm10: d(6),
    counts: [d(7), d(8), d(9), d(10), d(11), d(12)],
    reserved: d(13),
    fingerprint: fp,
  };
}

/**
 * Finds frames in a byte stream that arrives in arbitrary pieces. A bad frame counts as a checksum error and the
 * search resumes one byte after its start, so one corrupted byte costs one frame, not the sync.
 */
export class PmsStream {
  frames = 0;
  errors = 0;
  lastError = '';
  private buf: number[] = [];

  constructor(private readonly onFrame: (f: PmsFrame) => void) {}

  push(data: ArrayLike<number>): void {
    for (let i = 0; i < data.length; i++) this.buf.push(data[i]! & 0xff);
    let start = 0;
    while (this.buf.length - start >= 2) {
      if (this.buf[start] !== 0x42 || this.buf[start + 1] !== 0x4d) {
        start++;
        continue;
      }
      if (this.buf.length - start < PMS_FRAME_LEN) break;
      const f = parsePmsFrame(this.buf, start);
      if (typeof f === 'string') {
        this.errors++;
        this.lastError = f;
        start++;
      } else {
        this.frames++;
        start += PMS_FRAME_LEN;
        this.onFrame(f);
      }
    }
    // Keep at most one partial frame; a stream of garbage never grows the buffer.
    if (start > 0) this.buf.splice(0, start);
    if (this.buf.length > PMS_FRAME_LEN * 2) this.buf.splice(0, this.buf.length - PMS_FRAME_LEN);
  }
}
