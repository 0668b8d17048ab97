import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import type { Batch, Command, CommandResult, Reading, StationStatus } from './types.ts';
import type { DeviceStatus } from './status.ts';

/**
 * Codecs for the wire messages. Protobuf is the normal encoding; the JSON twin (same field names) is for
 * debugging and for tiny devices. `decodeBatch` accepts either and tells them apart by the first byte:
 * a JSON object starts with `{`, a protobuf Batch never does (its first key byte is 0x0a, 0x10, …).
 */
const root = protobuf.parse(readFileSync(new URL('../envmon.proto', import.meta.url), 'utf8'), { keepCase: true }).root;
const BatchType = root.lookupType('envmon.v1.Batch');
const StatusType = root.lookupType('envmon.v1.StationStatus');
const CommandType = root.lookupType('envmon.v1.Command');
const ResultType = root.lookupType('envmon.v1.CommandResult');

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: true, arrays: true, objects: true };

/** A payload that cannot be decoded; `reason` is a stable code counted in metrics, `message` the detail. */
export class DecodeError extends Error {
  constructor(
    readonly reason: 'empty' | 'malformed_protobuf' | 'malformed_json' | 'schema',
    message: string,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

interface WireReading {
  param: string;
  time: number;
  value: number;
  status: number;
  qc_flags: number;
  has_value: boolean;
  period_s: number;
  samples?: number;
  coverage?: number;
}

export function encodeBatch(batch: Batch): Uint8Array {
  const readings: WireReading[] = batch.readings.map((r) => ({
    param: r.param,
    time: r.time,
    value: r.value ?? 0,
    status: r.status,
    qc_flags: r.qc_flags,
    has_value: r.value !== null && Number.isFinite(r.value),
    period_s: r.period_s,
    ...(r.period_s > 0 && r.samples !== undefined ? { samples: r.samples, coverage: r.coverage ?? 0 } : {}),
  }));
  return BatchType.encode(BatchType.fromObject({ ...batch, readings })).finish();
}

export function decodeBatch(payload: Uint8Array): Batch {
  if (payload.length === 0) throw new DecodeError('empty', 'empty payload');
  if (payload[0] === 0x7b /* { */) return batchFromJson(payload);
  let obj: Record<string, unknown>;
  try {
    obj = BatchType.toObject(BatchType.decode(payload), TO_OBJECT);
  } catch (err) {
    throw new DecodeError('malformed_protobuf', `not a protobuf envmon.v1.Batch: ${(err as Error).message}`);
  }
  const wire = obj as unknown as { station: string; seq: number; sent_at: number; readings: WireReading[] };
  // Arbitrary bytes can parse as a protobuf message with every field absent; a batch without a station is garbage.
  if (wire.station === '') throw new DecodeError('schema', 'batch has no station (field 1): not an envmon.v1.Batch');
  return {
    station: wire.station,
    seq: wire.seq,
    sent_at: wire.sent_at,
    readings: wire.readings.map((r) => ({
      param: r.param,
      time: r.time,
      value: r.has_value ? r.value : null,
      status: r.status as DeviceStatus,
      qc_flags: r.qc_flags,
      period_s: r.period_s,
      // proto3 cannot tell 0 from absent: a mean's counts are given only when it had samples.
      ...(r.period_s > 0 && (r.samples ?? 0) > 0 ? { samples: r.samples, coverage: r.coverage ?? 0 } : {}),
    })),
  };
}

/**
 * The JSON twin: `{"station","seq","sent_at","readings":[{"param","time","value","status","qc_flags","period_s"}]}`;
 * a mean (period_s > 0) also has `"samples"` and `"coverage"`, as in protobuf.
 */
export function encodeBatchJson(batch: Batch): string {
  return JSON.stringify(batch);
}

function batchFromJson(payload: Uint8Array): Batch {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (err) {
    throw new DecodeError('malformed_json', `not JSON: ${(err as Error).message}`);
  }
  return batchFromObject(raw);
}

/** Checks the shape (not the meaning) of a JSON-twin batch; validation of values is the ingest's job. */
export function batchFromObject(raw: unknown): Batch {
  const fail = (what: string): never => {
    throw new DecodeError('schema', what);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('batch must be a JSON object');
  const o = raw as Record<string, unknown>;
  if (typeof o.station !== 'string') fail('"station" must be a string');
  if (!isWholeNumber(o.seq)) fail('"seq" must be a non-negative integer');
  const sentAt = o.sent_at ?? 0;
  if (!isWholeNumber(sentAt)) fail('"sent_at" must be Unix milliseconds');
  if (!Array.isArray(o.readings)) fail('"readings" must be an array');
  const readings = (o.readings as unknown[]).map((r, i): Reading => {
    if (typeof r !== 'object' || r === null) return fail(`readings[${i}] must be an object`);
    const x = r as Record<string, unknown>;
    if (typeof x.param !== 'string') fail(`readings[${i}].param must be a string`);
    if (!isWholeNumber(x.time)) fail(`readings[${i}].time must be Unix milliseconds`);
    if (x.value !== null && x.value !== undefined && typeof x.value !== 'number') fail(`readings[${i}].value must be a number or null`);
    const status = typeof x.status === 'string' ? Number(x.status) : (x.status ?? 0);
    if (status !== 0 && status !== 1 && status !== 2) fail(`readings[${i}].status must be 0, 1 or 2 ("00", "01", "02")`);
    const qc = x.qc_flags ?? 0;
    if (!isWholeNumber(qc)) fail(`readings[${i}].qc_flags must be a non-negative integer`);
    const period = x.period_s ?? 0;
    if (!isWholeNumber(period)) fail(`readings[${i}].period_s must be a non-negative integer`);
    if (x.samples !== undefined && !isWholeNumber(x.samples)) fail(`readings[${i}].samples must be a non-negative integer`);
    if (x.coverage !== undefined && (typeof x.coverage !== 'number' || !(x.coverage >= 0 && x.coverage <= 1))) {
      fail(`readings[${i}].coverage must be a number from 0 to 1`);
    }
    if (x.coverage !== undefined && x.samples === undefined) fail(`readings[${i}].coverage needs samples`);
    const reading: Reading = {
      param: x.param as string,
      time: x.time as number,
      value: (x.value as number | null | undefined) ?? null,
      status: status as DeviceStatus,
      qc_flags: qc as number,
      period_s: period as number,
    };
    // As in protobuf: a mean's counts are carried only when it had samples; a raw sample (period 0) has none.
    if ((period as number) > 0 && ((x.samples as number | undefined) ?? 0) > 0) {
      reading.samples = x.samples as number;
      reading.coverage = (x.coverage as number | undefined) ?? 0;
    }
    return reading;
  });
  return { station: o.station as string, seq: o.seq as number, sent_at: sentAt as number, readings };
}

function isWholeNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function encodeStatus(s: StationStatus): Uint8Array {
  return StatusType.encode(StatusType.fromObject(s)).finish();
}

export function decodeStatus(payload: Uint8Array): StationStatus {
  if (payload[0] === 0x7b) return JSON.parse(Buffer.from(payload).toString('utf8')) as StationStatus;
  return StatusType.toObject(StatusType.decode(payload), TO_OBJECT) as unknown as StationStatus;
}

export function encodeCommand(c: Command): Uint8Array {
  return CommandType.encode(CommandType.fromObject(c)).finish();
}

export function decodeCommand(payload: Uint8Array): Command {
  if (payload[0] === 0x7b) return JSON.parse(Buffer.from(payload).toString('utf8')) as Command;
  return CommandType.toObject(CommandType.decode(payload), TO_OBJECT) as unknown as Command;
}

export function encodeCommandResult(r: CommandResult): Uint8Array {
  return ResultType.encode(ResultType.fromObject(r)).finish();
}

export function decodeCommandResult(payload: Uint8Array): CommandResult {
  if (payload[0] === 0x7b) return JSON.parse(Buffer.from(payload).toString('utf8')) as CommandResult;
  return ResultType.toObject(ResultType.decode(payload), TO_OBJECT) as unknown as CommandResult;
}
