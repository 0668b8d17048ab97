import type { Platform } from '../platform/types.ts';
import type { Ring } from '../node/ring.ts';
import type { SeqCounter } from '../node/seq.ts';
import type { MqttClient } from './client.ts';

/**
 * Sends the ring buffer's readings as JSON-twin batches (protocol/README.md) on envmon/v1/<station>/data, QoS 1,
 * one batch in flight at a time. A batch keeps its seq, sent_at and readings until PUBACK; after a reconnect it
 * is sent again unchanged (the ingest stores on (station, param, time), so a duplicate is harmless). Only then
 * are its readings dropped from the ring.
 */
/**
 * Unix ms as decimal text. Espruino prints doubles with about 12 significant digits, and a time in ms has 13:
 * the seconds fit a 32-bit integer (until 2038) and are printed exactly, the milliseconds are appended.
 */
export function msText(ms: number): string {
  const s = Math.floor(ms / 1000);
  const rest = Math.floor(ms - s * 1000);
  return '' + s + (rest < 10 ? '00' : rest < 100 ? '0' : '') + rest;
}

export interface InFlight {
  seq: number;
  /** Absolute ring index just past the batch's last reading. */
  end: number;
  payload: string;
}

export class Publisher {
  inflight: InFlight | null = null;
  sending = false;
  acked = 0;

  constructor(
    private readonly p: Platform,
    private readonly client: MqttClient,
    private readonly ring: Ring,
    private readonly seq: SeqCounter,
    private readonly station: string,
    private readonly params: string[],
    private readonly batchMax: number,
    private readonly periodS: number,
  ) {}

  topic(): string {
    return 'envmon/v1/' + this.station + '/data';
  }

  /** Builds the next batch from the oldest readings, or keeps the one in flight. */
  private next(): InFlight | null {
    if (this.inflight) {
      // Overflow may have dropped readings of the batch while it waited: it is rebuilt from what is left.
      if (this.inflight.end > this.ring.first) return this.inflight;
      this.inflight = null;
    }
    if (this.ring.count === 0) return null;
    const end = Math.min(this.ring.first + this.ring.count, this.ring.first + this.batchMax);
    let readings = '';
    for (let i = this.ring.first; i < end; i++) {
      const r = this.ring.get(i)!;
      const v = isNaN(r.value) ? 'null' : '' + Math.round(r.value * 1000) / 1000;
      readings +=
        (readings ? ',' : '') +
        '{"param":' + JSON.stringify(this.params[r.slot]) + ',"time":' + r.time + '000,"value":' + v +
        ',"status":"0' + r.status + '","qc_flags":' + r.qc + ',"period_s":' + this.periodS + '}';
    }
    const seq = this.seq.take();
    const payload = '{"station":' + JSON.stringify(this.station) + ',"seq":' + seq + ',"sent_at":' + msText(this.p.now()) + ',"readings":[' + readings + ']}';
    this.inflight = { seq, end, payload };
    return this.inflight;
  }

  /** Sends when connected and nothing is in flight; call after each window and on connect. */
  pump(): void {
    if (this.sending || !this.client.connected) return;
    const b = this.next();
    if (!b) return;
    this.sending = true;
    const ok = this.client.publish(this.topic(), b.payload, 1, false, (err) => {
      this.sending = false;
      if (err) return; // kept; resent on the next connect
      this.acked++;
      this.ring.dropBefore(b.end);
      if (this.inflight === b) this.inflight = null;
      this.pump();
    });
    if (!ok) this.sending = false;
  }
}
