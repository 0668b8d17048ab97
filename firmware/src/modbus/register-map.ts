import { float32Bytes } from '../util/bytes.ts';
import { SLOT_COUNT, SLOT_PM10, SLOT_PM25, type Report } from '../node/node.ts';
import { QC_HUMIDITY } from '../node/channel.ts';

/**
 * The node's Modbus register map (hardware/profiles/envmon-node.yaml describes it for the gateway).
 *
 * Input registers (function 04), 0-based wire addresses:
 *   2·slot, 2·slot+1   float32, word order ABCD (high word first, big-endian bytes in each word) — the mean of
 *                      the last completed window; NaN until the first window closes or when there is no value.
 *                      slot 0 PM2.5, 1 PM10, 2 air temperature, 3 RH, 4 DS18B20 probe, 5 analog probe.
 *   100 + slot         status word: bit 0 device error (TT10 status 02), bit 2 humidity flag (PM above the RH
 *                      limit), bit 3 channel not fitted.
 *   120, 121           uptime in seconds, uint32 ABCD
 *   122                windows closed (mod 65536)
 *   123                PMS checksum errors (mod 65536)
 *   124                firmware version (major·256 + minor)
 * Anything else answers exception 02 (illegal data address), as the gateway's planner expects.
 */
export const STATUS_BASE = 100;
export const DIAG_BASE = 120;
export const FIRMWARE_VERSION = 0x0100;
export const STATUS_BIT_FAULT = 1 << 0;
export const STATUS_BIT_HUMID = 1 << 2;
export const STATUS_BIT_ABSENT = 1 << 3;

export class RegisterMap {
  /** Input registers by wire address; absent = not mapped. */
  private readonly input: number[] = [];

  constructor(fitted: boolean[]) {
    const nan = float32Bytes(NaN);
    for (let s = 0; s < SLOT_COUNT; s++) {
      this.input[2 * s] = (nan[0]! << 8) | nan[1]!;
      this.input[2 * s + 1] = (nan[2]! << 8) | nan[3]!;
      this.input[STATUS_BASE + s] = fitted[s] ? 0 : STATUS_BIT_ABSENT;
    }
    for (let i = 0; i < 5; i++) this.input[DIAG_BASE + i] = 0;
    this.input[DIAG_BASE + 4] = FIRMWARE_VERSION;
  }

  update(r: Report): void {
    const b = float32Bytes(r.value === null ? NaN : r.value);
    this.input[2 * r.slot] = (b[0]! << 8) | b[1]!;
    this.input[2 * r.slot + 1] = (b[2]! << 8) | b[3]!;
    let st = r.status === 2 ? STATUS_BIT_FAULT : 0;
    if ((r.slot === SLOT_PM25 || r.slot === SLOT_PM10) && r.qc & QC_HUMIDITY) st |= STATUS_BIT_HUMID;
    this.input[STATUS_BASE + r.slot] = st;
  }

  setDiagnostics(uptimeS: number, windows: number, pmsErrors: number): void {
    this.input[DIAG_BASE] = (uptimeS >>> 16) & 0xffff;
    this.input[DIAG_BASE + 1] = uptimeS & 0xffff;
    this.input[DIAG_BASE + 2] = windows & 0xffff;
    this.input[DIAG_BASE + 3] = pmsErrors & 0xffff;
  }

  /** Words of a read, or undefined when any address in it is not mapped. */
  read(fn: number, start: number, count: number): number[] | undefined {
    if (fn !== 4) return undefined;
    const out: number[] = [];
    for (let a = start; a < start + count; a++) {
      const w = this.input[a];
      if (w === undefined) return undefined;
      out.push(w);
    }
    return out;
  }
}
