import type { Duplex } from 'node:stream';

/**
 * Aedes has no maximum packet size, and mqtt-packet will buffer whatever length a client announces: one client
 * announcing a 256 MB PUBLISH can make the broker hold it in memory. This guard reads the MQTT fixed header
 * (type byte + "remaining length" varint, MQTT 3.1.1 §2.2.3) of every packet as bytes arrive and calls
 * `onTooLarge` as soon as a header announces more than `maxBytes`, before the body is buffered.
 *
 * It listens to 'data' beside Aedes' own 'readable' listener: with both present, 'readable' keeps control of the
 * flow and 'data' fires for exactly the chunks Aedes reads, so the guard sees every byte without changing pacing.
 */
export function guardPacketSize(conn: Duplex, maxBytes: number, onTooLarge: (announced: number) => void): void {
  let skip = 0; // body bytes of the current packet still to pass
  let header: number[] = [];
  let tripped = false;
  conn.on('data', (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length && !tripped) {
      if (skip > 0) {
        const take = Math.min(skip, chunk.length - i);
        skip -= take;
        i += take;
        continue;
      }
      header.push(chunk[i++]!);
      if (header.length === 1) continue; // packet type and flags
      if (header[header.length - 1]! & 0x80) {
        if (header.length >= 5) {
          // A fifth continuation byte is malformed (§2.2.3: at most four).
          tripped = true;
          onTooLarge(Number.POSITIVE_INFINITY);
        }
        continue;
      }
      let length = 0;
      for (let k = header.length - 1; k >= 1; k--) length = length * 128 + (header[k]! & 0x7f);
      header = [];
      if (length > maxBytes) {
        tripped = true;
        onTooLarge(length);
        return;
      }
      skip = length;
    }
  });
}
