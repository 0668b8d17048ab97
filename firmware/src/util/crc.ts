/**
 * Checksums used by the sensors and the bus protocols. Plain loops over byte arrays: no tables, so they cost
 * almost no RAM on the device (Espruino stores a 256-entry table as 256 variables).
 */

/**
 * CRC-8 of the Sensirion SHT3x: polynomial 0x31 (x^8 + x^5 + x^4 + 1), initial value 0xFF, no reflection,
 * no final XOR. SHT3x-DIS datasheet (v6, 2019), section 4.12 "Checksum Calculation", Table 19.
 */
export function crc8Sensirion(data: ArrayLike<number>, start: number, len: number): number {
  let crc = 0xff;
  for (let i = start; i < start + len; i++) {
    crc ^= data[i]! & 0xff;
    for (let b = 0; b < 8; b++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/**
 * CRC-8 of Maxim/Dallas 1-Wire devices: polynomial x^8 + x^5 + x^4 + 1, LSB first (reflected 0x8C),
 * initial value 0. DS18B20 datasheet (19-7487 Rev 6), "CRC Generation" and Figure 11; Maxim application note 27.
 * The CRC over the data bytes followed by their CRC is 0.
 */
export function crc8Maxim(data: ArrayLike<number>, start: number, len: number): number {
  let crc = 0;
  for (let i = start; i < start + len; i++) {
    let byte = data[i]! & 0xff;
    for (let b = 0; b < 8; b++) {
      const mix = (crc ^ byte) & 1;
      crc >>= 1;
      if (mix) crc ^= 0x8c;
      byte >>= 1;
    }
  }
  return crc;
}

/**
 * CRC-16/MODBUS: polynomial 0xA001 (reflected 0x8005), initial 0xFFFF, sent low byte first.
 * Modbus over Serial Line Specification and Implementation Guide V1.02, section 6.2.2 and Appendix B.
 */
export function crc16Modbus(data: ArrayLike<number>, start: number, len: number): number {
  let crc = 0xffff;
  for (let i = start; i < start + len; i++) {
    crc ^= data[i]! & 0xff;
    for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
