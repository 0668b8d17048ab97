import { crc16Modbus } from '../util/crc.ts';

/**
 * A Modbus RTU slave (server) for function 04 (read input registers) and 03 (read holding registers).
 * Modbus Application Protocol V1.1b3 §6.3/§6.4 (PDU), §7 (exceptions); Modbus over Serial Line V1.02 §2.5.1
 * (RTU frame: address, PDU, CRC-16 low byte first) and §2.5.1.1 (a frame ends after 3.5 character times
 * of silence; above 19200 baud a fixed 1.75 ms).
 *
 * Framing here: bytes are collected; after a silence of 3.5 characters the buffer is one frame. A frame is
 * also taken as soon as 8 bytes form a read request with a correct CRC, because Espruino delivers UART data in
 * chunks with its own timing. Frames with a bad CRC are dropped silently (§2.4.1: no answer), as are frames
 * for another unit. Broadcast (unit 0) reads get no answer.
 */
export type ReadFn = (fn: number, start: number, count: number) => number[] | undefined;

export const EX_ILLEGAL_FUNCTION = 1;
export const EX_ILLEGAL_ADDRESS = 2;
export const EX_ILLEGAL_VALUE = 3;

/** Answers one complete request frame (with CRC); undefined when no answer is due. */
export function answerRequest(frame: ArrayLike<number>, unitId: number, read: ReadFn): number[] | undefined {
  if (frame.length < 4) return undefined;
  const crc = crc16Modbus(frame, 0, frame.length - 2);
  if ((frame[frame.length - 2]! | (frame[frame.length - 1]! << 8)) !== crc) return undefined;
  const unit = frame[0]!;
  if (unit !== unitId) return undefined;
  const fn = frame[1]!;
  let pdu: number[];
  if (fn !== 3 && fn !== 4) pdu = [fn | 0x80, EX_ILLEGAL_FUNCTION];
  else if (frame.length !== 8) pdu = [fn | 0x80, EX_ILLEGAL_VALUE];
  else {
    const start = (frame[2]! << 8) | frame[3]!;
    const count = (frame[4]! << 8) | frame[5]!;
    if (count < 1 || count > 125) pdu = [fn | 0x80, EX_ILLEGAL_VALUE];
    else {
      const words = read(fn, start, count);
      if (!words) pdu = [fn | 0x80, EX_ILLEGAL_ADDRESS];
      else {
        pdu = [fn, count * 2];
        for (let i = 0; i < words.length; i++) pdu.push((words[i]! >> 8) & 0xff, words[i]! & 0xff);
      }
    }
  }
  const out = [unit].concat(pdu);
  const c = crc16Modbus(out, 0, out.length);
  out.push(c & 0xff, (c >> 8) & 0xff);
  return out;
}

export class RtuSlave {
  requests = 0;
  private buf: number[] = [];
  private silence: unknown = null;

  constructor(
    private readonly unitId: number,
    private readonly read: ReadFn,
    private readonly send: (bytes: number[]) => void,
    private readonly later: (fn: () => void, ms: number) => unknown,
    private readonly cancel: (id: unknown) => void,
    private readonly gapMs: number,
  ) {}

  push(data: ArrayLike<number>): void {
    for (let i = 0; i < data.length; i++) this.buf.push(data[i]! & 0xff);
    if (this.silence !== null) this.cancel(this.silence);
    this.silence = null;
    // Fast path: a complete read request with a good CRC does not wait for the silence.
    if (this.buf.length === 8 && crc16Modbus(this.buf, 0, 6) === (this.buf[6]! | (this.buf[7]! << 8))) {
      this.frame();
      return;
    }
    if (this.buf.length > 256) this.buf = [];
    this.silence = this.later(() => {
      this.silence = null;
      this.frame();
    }, this.gapMs);
  }

  private frame(): void {
    const f = this.buf;
    this.buf = [];
    const answer = answerRequest(f, this.unitId, this.read);
    if (answer) {
      this.requests++;
      this.send(answer);
    }
  }
}

/** Inter-frame silence in ms for a baud rate: 3.5 characters of 11 bits, at least 1.75 ms (§2.5.1.1). */
export function rtuGapMs(baud: number): number {
  return baud > 19200 ? 2 : Math.ceil((3.5 * 11 * 1000) / baud);
}
