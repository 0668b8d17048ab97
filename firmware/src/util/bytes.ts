/** Byte helpers that behave the same on Espruino and Node (no Buffer, no DataView needed by callers). */

/** Appends `more` to `buf` and returns a new Uint8Array (inputs stay untouched). */
export function concatBytes(buf: Uint8Array, more: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(buf.length + more.length);
  out.set(buf, 0);
  for (let i = 0; i < more.length; i++) out[buf.length + i] = more[i]!;
  return out;
}

/** Big-endian unsigned 16-bit value at `i`. */
export function u16be(b: ArrayLike<number>, i: number): number {
  return ((b[i]! & 0xff) << 8) | (b[i + 1]! & 0xff);
}

/** A JS string of code units (ASCII, or any text: it is encoded as UTF-8) into bytes. */
export function utf8Bytes(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00);
      i++;
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

/** Hex dump "42 4d 00 1c" → bytes; used by tests and by 1-Wire ROM ids. */
export function hexBytes(hex: string): number[] {
  const clean = hex.replace(/[^0-9a-fA-F]/g, '');
  const out: number[] = [];
  for (let i = 0; i + 1 < clean.length; i += 2) out.push(parseInt(clean.substr(i, 2), 16));
  return out;
}

/** A float as the 4 bytes of an IEEE 754 single, big-endian (A B C D). */
export function float32Bytes(v: number): number[] {
  const f = new Float32Array(1);
  f[0] = v;
  const b = new Uint8Array(f.buffer);
  // Typed arrays use the platform's byte order; probe it once instead of assuming little-endian.
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  return le ? [b[3]!, b[2]!, b[1]!, b[0]!] : [b[0]!, b[1]!, b[2]!, b[3]!];
}
