import { crc8Maxim, crc8Sensirion } from '../../util/crc.ts';
import type { SimI2cDevice, SimOneWireDevice, SimPlatform, SimUart } from './sim-platform.ts';

/**
 * Simulated sensors that speak the same bytes as the real parts (see the drivers for the datasheet sections).
 * The encoders here are the inverse of the drivers' decoders; the drivers' tests use literal datasheet bytes.
 */

/** A PMS5003 frame: PM values (atmospheric = CF=1 here), particle counts, optional wrong checksum. */
export function encodePmsFrame(pm1: number, pm25: number, pm10: number, counts: number[], badChecksum = false): number[] {
  const data = [pm1, pm25, pm10, pm1, pm25, pm10, ...counts.slice(0, 6), 0];
  while (data.length < 13) data.push(0);
  const b = [0x42, 0x4d, 0x00, 0x1c];
  for (const d of data) b.push((d >> 8) & 0xff, d & 0xff);
  let sum = 0;
  for (const x of b) sum += x;
  if (badChecksum) sum += 1;
  b.push((sum >> 8) & 0xff, sum & 0xff);
  return b;
}

export class SimPms5003 {
  pm1 = 5;
  pm25 = 12;
  pm10 = 20;
  /** Sends nothing (unplugged, fan dead). */
  silent = false;
  /** Every frame has a wrong checksum. */
  corrupt = false;
  /** Repeats exactly the same frame (a hung sensor). */
  stuck = false;
  active = true;
  asleep = false;
  frames = 0;
  private n = 0;
  private timer: unknown;

  constructor(
    private readonly p: SimPlatform,
    private readonly uart: SimUart,
    everyMs = 1000,
  ) {
    uart.peer = (bytes) => this.command(bytes);
    this.timer = p.setInterval(() => this.emit(), everyMs);
  }

  private command(b: number[]): void {
    for (let i = 0; i + 6 < b.length + 0 && i + 7 <= b.length; i++) {
      if (b[i] !== 0x42 || b[i + 1] !== 0x4d) continue;
      if (b[i + 2] === 0xe4) this.asleep = b[i + 4] === 0;
      if (b[i + 2] === 0xe1) this.active = b[i + 4] === 1;
    }
  }

  private emit(): void {
    if (this.silent || this.asleep || !this.active) return;
    this.n++;
    const jitter = this.stuck ? 0 : this.n % 7;
    const counts = [1200 + jitter * 13, 350 + jitter * 5, 80 + jitter, 10, 2, 0];
    this.frames++;
    this.uart.deliver(encodePmsFrame(this.pm1, this.pm25, this.pm10, counts, this.corrupt));
  }

  stop(): void {
    this.p.clearInterval(this.timer);
  }
}

/** Encodes a temperature and humidity as the SHT3x's 6 answer bytes. */
export function encodeSht3x(t: number, rh: number): number[] {
  const st = Math.max(0, Math.min(65535, Math.round(((t + 45) * 65535) / 175)));
  const srh = Math.max(0, Math.min(65535, Math.round((rh * 65535) / 100)));
  const b = [st >> 8, st & 0xff, 0, srh >> 8, srh & 0xff, 0];
  b[2] = crc8Sensirion(b, 0, 2);
  b[5] = crc8Sensirion(b, 3, 2);
  return b;
}

export class SimSht3x implements SimI2cDevice {
  t = 25;
  rh = 60;
  /** Raw noise of ±1 LSB-ish so that a live sensor never looks stuck. */
  noise = true;
  badCrc = false;
  private pending = false;
  private n = 0;
  write(data: number[]): void {
    this.pending = data[0] === 0x24 && data[1] === 0x00;
  }
  read(count: number): number[] {
    // No measurement started: the chip NACKs its address (datasheet 4.3); Espruino throws.
    if (!this.pending) throw new Error('I2C Error: Got NACK');
    this.pending = false;
    this.n++;
    const d = this.noise ? (this.n % 3) * 0.003 : 0;
    const b = encodeSht3x(this.t + d, this.rh + d);
    if (this.badCrc) b[5] = b[5]! ^ 0xff;
    return b.slice(0, count);
  }
}

/** Encodes a temperature as a DS18B20 scratchpad at 12-bit resolution. */
export function encodeScratchpad(t: number): number[] {
  let raw = Math.round(t * 16);
  if (raw < 0) raw += 0x10000;
  const b = [raw & 0xff, (raw >> 8) & 0xff, 0x4b, 0x46, 0x7f, 0xff, 0x0c, 0x10, 0];
  b[8] = crc8Maxim(b, 0, 8);
  return b;
}

export class SimDs18b20 implements SimOneWireDevice {
  t = 21.5;
  /** Scratchpad still at power-on 85 °C: no Convert T seen yet. */
  private converted = false;
  private reading = false;
  badCrc = false;
  constructor(readonly rom: string) {}
  command(byte: number): void {
    if (byte === 0x44) this.converted = true;
    this.reading = byte === 0xbe;
  }
  read(count: number): number[] {
    if (!this.reading) return new Array<number>(count).fill(0xff);
    const b = encodeScratchpad(this.converted ? this.t : 85);
    if (this.badCrc) b[8] = b[8]! ^ 0x5a;
    return b.slice(0, count);
  }
}

/** A ROM id with the right family code and CRC: 28 <6-byte serial> <crc>. */
export function ds18b20Rom(serial: number[]): string {
  const b = [0x28, ...serial.slice(0, 6)];
  b.push(crc8Maxim(b, 0, 7));
  return b.map((x) => x.toString(16).padStart(2, '0')).join('');
}
