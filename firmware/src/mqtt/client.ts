import type { Platform, Socket } from '../platform/types.ts';
import { concatBytes, utf8Bytes } from '../util/bytes.ts';

/**
 * A small MQTT 3.1.1 client (OASIS MQTT Version 3.1.1, 2014) for Espruino, which has no MQTT module built in.
 * CONNECT with clean session, username and password (§3.1), CONNACK (§3.2), PUBLISH QoS 0/1 (§3.3) with
 * PUBACK tracking by packet identifier (§3.4), PINGREQ/PINGRESP keep-alive (§3.12, §3.13, §3.1.2.10),
 * DISCONNECT (§3.14), a last will, and reconnect with exponential backoff. Incoming QoS 1 PUBLISHes are
 * acknowledged and passed to `onMessage`.
 *
 * A publish that is in flight when the connection drops gets its callback with an error: with a clean session
 * the broker forgets it, so the caller (the publisher) sends it again, with the same batch seq.
 */
export interface MqttOptions {
  host: string;
  port: number;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveS: number;
  will?: { topic: string; payload: string; retain: boolean };
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export type PublishCallback = (err: string | null) => void;

/** Remaining length (§2.2.3): 7 bits per byte, continuation bit 0x80, at most 4 bytes. */
export function encodeLength(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function str(s: string): number[] {
  const b = utf8Bytes(s);
  return [(b.length >> 8) & 0xff, b.length & 0xff].concat(b);
}

function packet(type: number, body: number[]): Uint8Array {
  const head = [type].concat(encodeLength(body.length));
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

export function connectPacket(o: MqttOptions): Uint8Array {
  let flags = 0x02; // clean session
  if (o.will) flags |= 0x04 | 0x08 /* will QoS 1 */ | (o.will.retain ? 0x20 : 0);
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  let body = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, (o.keepaliveS >> 8) & 0xff, o.keepaliveS & 0xff].concat(str(o.clientId));
  if (o.will) body = body.concat(str(o.will.topic), str(o.will.payload));
  if (o.username !== undefined) body = body.concat(str(o.username));
  if (o.password !== undefined) body = body.concat(str(o.password));
  return packet(0x10, body);
}

export function publishPacket(topic: string, payload: string, qos: number, id: number, retain: boolean, dup: boolean): Uint8Array {
  let body = str(topic);
  if (qos > 0) body.push((id >> 8) & 0xff, id & 0xff);
  body = body.concat(utf8Bytes(payload));
  return packet(0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), body);
}

export class MqttClient {
  connected = false;
  /** CONNACK return code of the last refused connection (5 = not authorised), 0 when none. */
  lastRefusal = 0;
  connects = 0;
  pings = 0;
  onConnect: () => void = () => undefined;
  onClose: () => void = () => undefined;
  onMessage: (topic: string, payload: Uint8Array) => void = () => undefined;

  private sock: Socket | null = null;
  private rx: Uint8Array = new Uint8Array(0);
  private nextId = 1;
  private pending: { [id: string]: PublishCallback } = {};
  private lastTx = 0;
  private lastRx = 0;
  private pingSent = 0;
  private ticker: unknown = null;
  private retry: unknown = null;
  private backoff: number;
  private stopped = false;

  constructor(
    private readonly p: Platform,
    private readonly o: MqttOptions,
  ) {
    this.backoff = o.reconnectMinMs || 1000;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Sends DISCONNECT and closes; no reconnect. */
  end(): void {
    this.stopped = true;
    if (this.retry !== null) this.p.clearTimeout(this.retry);
    this.retry = null;
    if (this.sock) {
      if (this.connected) this.sock.write(new Uint8Array([0xe0, 0]));
      this.sock.end();
    }
  }

  /** QoS 1 calls `cb(null)` on PUBACK, `cb(error)` when the connection drops first. False when not connected. */
  publish(topic: string, payload: string, qos: number, retain: boolean, cb: PublishCallback | null): boolean {
    if (!this.connected || !this.sock) return false;
    let id = 0;
    if (qos > 0) {
      id = this.nextId;
      this.nextId = this.nextId >= 65535 ? 1 : this.nextId + 1;
      this.pending['' + id] = cb || (() => undefined);
    }
    this.send(publishPacket(topic, payload, qos, id, retain, false));
    if (qos === 0 && cb) cb(null);
    return true;
  }

  inFlight(): number {
    return Object.keys(this.pending).length;
  }

  private send(b: Uint8Array): void {
    this.lastTx = this.p.now();
    this.sock!.write(b);
  }

  private open(): void {
    this.retry = null;
    this.rx = new Uint8Array(0);
    let sock: Socket;
    const opened = this.p.now();
    sock = this.p.connect(this.o.host, this.o.port, () => {
      if (this.sock !== sock) return;
      this.lastRx = this.p.now();
      this.send(connectPacket(this.o));
    });
    this.sock = sock;
    this.lastRx = opened;
    sock.onData((d) => {
      if (this.sock === sock) this.receive(d);
    });
    sock.onClose(() => {
      if (this.sock === sock) this.closed();
    });
    const ka = this.o.keepaliveS * 1000;
    this.ticker = this.p.setInterval(() => this.keepalive(), Math.max(250, Math.floor(ka / 4)));
  }

  private keepalive(): void {
    const now = this.p.now();
    const ka = this.o.keepaliveS * 1000;
    if (!this.connected) {
      // No CONNACK within a keep-alive period (or 10 s): give up on this socket.
      if (now - this.lastRx > Math.max(ka, 10000)) this.drop();
      return;
    }
    if (this.pingSent && now - this.pingSent > ka) {
      this.drop(); // §3.1.2.10: no PINGRESP within a reasonable time → close the network connection
      return;
    }
    if (!this.pingSent && now - this.lastTx >= ka / 2) {
      this.pingSent = now;
      this.pings++;
      this.send(new Uint8Array([0xc0, 0]));
    }
  }

  private drop(): void {
    const s = this.sock;
    if (s) s.end();
    this.closed();
  }

  private closed(): void {
    if (this.ticker !== null) this.p.clearInterval(this.ticker);
    this.ticker = null;
    const was = this.connected;
    this.connected = false;
    this.sock = null;
    this.pingSent = 0;
    const pend = this.pending;
    this.pending = {};
    const ids = Object.keys(pend);
    for (let i = 0; i < ids.length; i++) pend[ids[i]!]!('connection lost');
    if (was) this.onClose();
    if (this.stopped || this.retry !== null) return;
    this.retry = this.p.setTimeout(() => this.open(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, this.o.reconnectMaxMs || 60000);
  }

  private receive(d: Uint8Array): void {
    this.lastRx = this.p.now();
    this.rx = concatBytes(this.rx, d);
    for (;;) {
      const b = this.rx;
      if (b.length < 2) return;
      let len = 0;
      let mul = 1;
      let i = 1;
      for (;;) {
        if (i >= b.length) return;
        const c = b[i]!;
        len += (c & 127) * mul;
        mul *= 128;
        i++;
        if (!(c & 128)) break;
        if (i > 4) {
          this.drop();
          return;
        }
      }
      if (b.length < i + len) return;
      const body = b.subarray(i, i + len);
      this.rx = b.slice(i + len);
      this.handle(b[0]!, body);
      if (!this.sock) return;
    }
  }

  private handle(head: number, body: Uint8Array): void {
    const type = head >> 4;
    if (type === 2) {
      // CONNACK: return code in byte 2; 0 accepted, 4 bad user name or password, 5 not authorised.
      if (body[1] !== 0) {
        this.lastRefusal = body[1]!;
        this.p.log('mqtt: connection refused, code ' + body[1]);
        this.drop();
        return;
      }
      this.connected = true;
      this.connects++;
      this.lastRefusal = 0;
      this.backoff = this.o.reconnectMinMs || 1000;
      this.onConnect();
    } else if (type === 4) {
      const id = '' + ((body[0]! << 8) | body[1]!);
      const cb = this.pending[id];
      if (cb) {
        delete this.pending[id];
        cb(null);
      }
    } else if (type === 13) {
      this.pingSent = 0;
    } else if (type === 3) {
      const tl = (body[0]! << 8) | body[1]!;
      let topic = '';
      for (let i = 0; i < tl; i++) topic += String.fromCharCode(body[2 + i]!);
      const qos = (head >> 1) & 3;
      let at = 2 + tl;
      if (qos > 0) {
        this.send(new Uint8Array([0x40, 2, body[at]!, body[at + 1]!]));
        at += 2;
      }
      this.onMessage(topic, body.subarray(at));
    }
  }
}
