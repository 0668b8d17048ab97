import type { I2cBus } from '../platform/types.ts';
import { crc8Sensirion } from '../util/crc.ts';

/**
 * Sensirion SHT3x-DIS humidity and temperature sensor on I2C (datasheet version 6, December 2019).
 *  - Address 0x44 (ADDR pin low) or 0x45 (high): section 3.4 / Table 7.
 *  - Single shot, high repeatability, clock stretching disabled: command 0x2400, section 4.3 / Table 9.
 *    Measurement takes at most 15 ms (Table 4, t_MEAS,h); the sensor NACKs a read before that.
 *  - Answer: T MSB, T LSB, CRC, RH MSB, RH LSB, CRC (Figure 13); CRC-8 0x31, init 0xFF (section 4.12).
 *  - T[°C] = −45 + 175 · S_T / (2^16 − 1);  RH[%] = 100 · S_RH / (2^16 − 1)  (section 4.13).
 *  - Soft reset 0x30A2 (section 4.9).
 */
export const SHT3X_ADDR = 0x44;
export const SHT3X_MEASURE_HIGH = [0x24, 0x00];
export const SHT3X_SOFT_RESET = [0x30, 0xa2];
export const SHT3X_MEASURE_MS = 20;

export interface Sht3xSample {
  t: number;
  rh: number;
  rawT: number;
  rawRh: number;
}

/** Decodes the 6 answer bytes; a string names what is wrong. */
export function parseSht3x(b: ArrayLike<number>): Sht3xSample | string {
  if (b.length < 6) return 'short answer (' + b.length + ' bytes)';
  if (crc8Sensirion(b, 0, 2) !== b[2]) return 'temperature CRC mismatch';
  if (crc8Sensirion(b, 3, 2) !== b[5]) return 'humidity CRC mismatch';
  const rawT = ((b[0]! & 0xff) << 8) | (b[1]! & 0xff);
  const rawRh = ((b[3]! & 0xff) << 8) | (b[4]! & 0xff);
  return { t: -45 + (175 * rawT) / 65535, rh: (100 * rawRh) / 65535, rawT, rawRh };
}

/** Starts a measurement and calls back after the conversion time with the sample or an error. */
export function measureSht3x(
  bus: I2cBus,
  addr: number,
  later: (fn: () => void, ms: number) => unknown,
  cb: (err: string | null, s: Sht3xSample | null) => void,
): void {
  try {
    bus.writeTo(addr, SHT3X_MEASURE_HIGH);
  } catch (e) {
    cb('no answer at 0x' + addr.toString(16) + ': ' + e, null);
    return;
  }
  later(() => {
    let r: Sht3xSample | string;
    try {
      r = parseSht3x(bus.readFrom(addr, 6));
    } catch (e) {
      r = 'read failed: ' + e;
    }
    if (typeof r === 'string') cb(r, null);
    else cb(null, r);
  }, SHT3X_MEASURE_MS);
}
