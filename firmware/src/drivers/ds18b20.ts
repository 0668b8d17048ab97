import type { OneWireBus } from '../platform/types.ts';
import { crc8Maxim } from '../util/crc.ts';

/**
 * Maxim DS18B20 digital thermometer on 1-Wire (datasheet 19-7487 Rev 6).
 *  - ROM commands: Search ROM F0h, Match ROM 55h, Skip ROM CCh ("ROM Commands"); Espruino's OneWire does these.
 *  - Function commands: Convert T 44h, Read Scratchpad BEh ("DS18B20 Function Commands", Table 3).
 *  - Conversion takes up to 750 ms at 12 bits (t_CONV); a parasite-powered sensor needs the strong pull-up
 *    during it, so Convert T is written with power on.
 *  - Scratchpad (Figure 9): temp LSB, temp MSB, TH, TL, configuration, FFh, reserved, 10h, CRC.
 *  - Temperature: 16-bit two's complement in 1/16 °C (Figure 4, Table 1). At 9/10/11 bits the lowest 3/2/1
 *    bits are undefined. 0550h (+85 °C) is the power-on reset value: reading it means no conversion ran.
 *  - CRC-8 over the first 8 bytes equals byte 9 ("CRC Generation"). Family code 28h.
 */
export const DS18B20_FAMILY = 0x28;
export const DS18B20_CONVERT = 0x44;
export const DS18B20_READ_SCRATCHPAD = 0xbe;
export const DS18B20_CONVERT_MS = 750;

/** Decodes the 9 scratchpad bytes into °C; a string names what is wrong. */
export function parseScratchpad(b: ArrayLike<number>): number | string {
  if (b.length < 9) return 'short scratchpad (' + b.length + ' bytes)';
  let zeros = true;
  for (let i = 0; i < 9; i++) if (b[i] !== 0) zeros = false;
  // All zeros has a valid CRC (0), but it is what a bus held low reads: no sensor answered.
  if (zeros) return 'bus held low (all zero scratchpad)';
  if (crc8Maxim(b, 0, 8) !== (b[8]! & 0xff)) return 'scratchpad CRC mismatch';
  let raw = ((b[1]! & 0xff) << 8) | (b[0]! & 0xff);
  if (raw & 0x8000) raw -= 0x10000;
  const res = ((b[4]! >> 5) & 3) + 9; // configuration R1 R0 → 9..12 bits (Table 2)
  raw &= ~((1 << (12 - res)) - 1); // undefined low bits at lower resolutions
  if (raw === 0x0550) return 'power-on value 85 °C: no conversion ran';
  return raw / 16;
}

/** One sensor on a bus, addressed by ROM id, or the only sensor on the bus (Skip ROM) when `rom` is empty. */
export class Ds18b20 {
  constructor(
    private readonly bus: OneWireBus,
    private readonly rom: string,
  ) {}

  private address(): boolean {
    if (!this.bus.reset()) return false;
    if (this.rom) this.bus.select(this.rom);
    else this.bus.skip();
    return true;
  }

  /** Issues Convert T; false when no device answered the reset. */
  startConversion(): boolean {
    if (!this.address()) return false;
    this.bus.write(DS18B20_CONVERT, true);
    return true;
  }

  /** Reads the scratchpad of the last conversion. */
  read(): number | string {
    if (!this.address()) return 'no presence pulse';
    this.bus.write(DS18B20_READ_SCRATCHPAD);
    return parseScratchpad(this.bus.read(9));
  }
}

/** The first DS18B20 (family 28h) among ROM ids returned by a Search ROM, or '' when none. */
export function findDs18b20(roms: string[]): string {
  for (let i = 0; i < roms.length; i++) if (parseInt(roms[i]!.substr(0, 2), 16) === DS18B20_FAMILY) return roms[i]!;
  return '';
}
