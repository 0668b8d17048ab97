import { DecodeError, decodeBatch, type Catalogue } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { StationConfig } from '../config/config.ts';
import type { LiveHub } from '../live/hub.ts';
import type { StoredReading } from '../store/store.ts';
import { QualityControl } from './qc.ts';
import type { Quarantine } from './quarantine.ts';
import { validateBatch, type ValidationContext } from './validate.ts';
import type { Wal } from './wal.ts';

/** What `handleData` did with a payload: readings kept (in the WAL, with QC flags) and reasons for the rest. */
export interface DataResult {
  accepted: StoredReading[];
  rejected: { reason: string; detail: string; param?: string; time?: number }[];
}

export interface PipelineOptions {
  catalogue: Catalogue;
  stations: ReadonlyMap<string, StationConfig>;
  wal: Wal;
  quarantine: Quarantine;
  hub: LiveHub;
  log: Logger;
  maxFutureSkewMs: number;
  maxBackfillMs: number;
  /** Readings in the WAL above which new messages wait (no PUBACK) until the writer catches up. */
  maxWalReadings: number;
  staleAfterMs: number;
}

/**
 * decode → validate → quarantine the bad → QC flags on the good → WAL commit → live event.
 * The returned promise resolves only once the good readings are on disk; the broker sends the PUBACK after it.
 * It never rejects on content: a bad payload is quarantined and acknowledged, so it cannot become a poison
 * message that a client resends forever (see shared/research/stack-notes.md on Aedes).
 */
export class Pipeline {
  readonly counters = { messages: 0, accepted: 0, rejected: 0, backpressureWaits: 0 };

  private readonly qc: QualityControl;
  /** One context for every message (only `now` changes), not a copy of the options per message. */
  private readonly validation: ValidationContext;

  constructor(private readonly o: PipelineOptions) {
    this.validation = { catalogue: o.catalogue, stations: o.stations, maxFutureSkewMs: o.maxFutureSkewMs, maxBackfillMs: o.maxBackfillMs, now: 0 };
    this.qc = new QualityControl({
      catalogue: o.catalogue,
      staleAfterMs: o.staleAfterMs,
      plausible: (station, param) => o.stations.get(station)?.plausible[param],
    });
  }

  /** Resolves with what was kept and what was quarantined (callers other than the broker report it, e.g. Node-RED). */
  async handleData(topicStation: string, topic: string, payload: Uint8Array): Promise<DataResult> {
    this.counters.messages++;
    let batch;
    try {
      batch = decodeBatch(payload);
    } catch (err) {
      const reason = err instanceof DecodeError ? err.reason : 'malformed_protobuf';
      this.reject(topicStation, topic, reason, (err as Error).message, payload);
      return { accepted: [], rejected: [{ reason, detail: (err as Error).message }] };
    }
    const now = Date.now();
    this.validation.now = now;
    const result = validateBatch(batch, topicStation, this.validation);
    if (result.batchError) {
      this.reject(topicStation, topic, result.batchError.reason, result.batchError.detail, payload);
      return { accepted: [], rejected: [result.batchError] };
    }
    for (const r of result.rejected) {
      this.reject(topicStation, topic, r.reason, r.detail, Buffer.from(JSON.stringify(r.reading)));
    }
    const rejected = result.rejected.map((r) => ({ reason: r.reason, detail: r.detail, param: r.reading.param, time: r.reading.time }));
    if (result.accepted.length === 0) return { accepted: [], rejected };
    this.qc.apply(result.accepted, now);
    // Check and append without an await in between: messages parsed in the same turn must see each other's readings.
    if (this.o.wal.depthReadings >= this.o.maxWalReadings) await this.waitForRoom();
    await this.o.wal.append(topicStation, batch.seq, result.accepted);
    this.counters.accepted += result.accepted.length;
    this.o.hub.publish({ type: 'readings', station: topicStation, readings: result.accepted });
    return { accepted: result.accepted, rejected };
  }

  private reject(station: string, topic: string, reason: string, detail: string, payload: Uint8Array): void {
    this.counters.rejected++;
    try {
      this.o.quarantine.add({ station, topic, reason, detail, payload });
    } catch (err) {
      this.o.log.error({ err, reason }, 'could not keep a rejected message in the quarantine');
    }
    this.o.log.debug({ station, reason, detail }, 'rejected');
  }

  /** Backpressure: hold the PUBACK while the WAL is full. The client keeps the message and its later ones. */
  private async waitForRoom(): Promise<void> {
    this.counters.backpressureWaits++;
    this.o.log.warn({ depth: this.o.wal.depthReadings }, 'WAL full: holding acknowledgements until the writer catches up');
    while (this.o.wal.depthReadings >= this.o.maxWalReadings) await new Promise((r) => setTimeout(r, 50));
  }
}
