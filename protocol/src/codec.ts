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

/**
 * Writes a Batch field by field with protobufjs' Writer: the bytes its reflective `fromObject` + `encode` made of
 * the same batch (codec-encode.test.ts holds it to that), without first copying every reading into a message
 * object. Its rules: fields in number order; proto3 defaults are not written (empty string, 0, -0 is not 0 for a
 * double, false); integers as fromObject converts them (`>>> 0` for uint32; a 64-bit field truncates toward zero,
 * so |x| < 1 is 0, and a negative seq, never made by the outbox, was not written either); a null or non-finite value is written as `value` (0 for null) with has_value false; samples and
 * coverage only on a mean that has samples.
 */
export function encodeBatch(batch: Batch): Uint8Array {
  const w = protobuf.Writer.create();
  const station = String(batch.station);
  if (station !== '') w.uint32(10).string(station);
  if (batch.seq >= 1) w.uint32(16).uint64(batch.seq);
  if (batch.sent_at >= 1 || batch.sent_at <= -1) w.uint32(24).int64(batch.sent_at);
  for (const r of batch.readings) {
    w.uint32(34).fork();
    const param = String(r.param);
    if (param !== '') w.uint32(10).string(param);
    if (r.time >= 1 || r.time <= -1) w.uint32(16).int64(r.time);
    const value = r.value ?? 0;
    if (!Object.is(value, 0)) w.uint32(25).double(value);
    if (r.status !== 0) w.uint32(32).int32(r.status);
    const qc = r.qc_flags >>> 0;
    if (qc !== 0) w.uint32(40).uint32(qc);
    if (r.value !== null && Number.isFinite(r.value)) w.uint32(48).bool(true);
    const period = r.period_s >>> 0;
    if (period !== 0) w.uint32(56).uint32(period);
    if (r.period_s > 0 && r.samples !== undefined) {
      const samples = r.samples >>> 0;
      if (samples !== 0) w.uint32(64).uint32(samples);
      const coverage = r.coverage ?? 0;
      if (!Object.is(coverage, 0)) w.uint32(73).double(coverage);
    }
    w.ldelim();
  }
  return w.finish();
}

export function decodeBatch(payload: Uint8Array): Batch {
  if (payload.length === 0) throw new DecodeError('empty', 'empty payload');
  if (payload[0] === 0x7b /* { */) return batchFromJson(payload);
  let batch: Batch;
  try {
    batch = readBatch(protobuf.Reader.create(payload));
  } catch (err) {
    throw new DecodeError('malformed_protobuf', `not a protobuf envmon.v1.Batch: ${(err as Error).message}`);
  }
  // Arbitrary bytes can parse as a protobuf message with every field absent; a batch without a station is garbage.
  if (batch.station === '') throw new DecodeError('schema', 'batch has no station (field 1): not an envmon.v1.Batch');
  return batch;
}

/*
 * Batch and Reading are read field by field, straight into the objects decodeBatch returns: the ingest decodes
 * every message it receives, and protobufjs' decode + toObject + a mapping made three objects per reading.
 * The rules are those of protobufjs' generated decoder (8.x, decoder.js): tags checked, a field with another wire
 * type than its own skipped as unknown, unknown fields skipped, the last value of a field wins, a reading bounded
 * by its length, proto3 strings verified as UTF-8, absent fields at their defaults. codec-decode.test.ts holds it
 * to protobufjs on valid, unusual and random input.
 */
function readBatch(r: protobuf.Reader): Batch {
  let station = '';
  let seq = 0;
  let sentAt = 0;
  const readings: Reading[] = [];
  while (r.pos < r.len) {
    const tag = r.tag();
    const wire = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wire === 2) station = r.stringVerify();
    else if (field === 2 && wire === 0) seq = readLong(r, true);
    else if (field === 3 && wire === 0) sentAt = readLong(r, false);
    else if (field === 4 && wire === 2) readings.push(readReading(r));
    else r.skipType(wire, 0, field);
  }
  return { station, seq, sent_at: sentAt, readings };
}

function readReading(r: protobuf.Reader): Reading {
  const end = r.size() + r.pos;
  if (end > r.len) throw new RangeError('index out of range');
  const outerLen = r.len;
  r.len = end;
  let param = '';
  let time = 0;
  let value = 0;
  let status = 0;
  let qcFlags = 0;
  let hasValue = false;
  let periodS = 0;
  let samples = 0;
  let coverage = 0;
  while (r.pos < end) {
    const tag = r.tag();
    const wire = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wire === 2) param = readParam(r);
    else if (field === 2 && wire === 0) time = readLong(r, false);
    else if (field === 3 && wire === 1) value = r.double();
    else if (field === 4 && wire === 0) status = r.int32();
    else if (field === 5 && wire === 0) qcFlags = r.uint32();
    else if (field === 6 && wire === 0) hasValue = r.bool();
    else if (field === 7 && wire === 0) periodS = r.uint32();
    else if (field === 8 && wire === 0) samples = r.uint32();
    else if (field === 9 && wire === 1) coverage = r.double();
    else r.skipType(wire, 1, field);
  }
  if (r.pos !== end) throw new RangeError('index out of range');
  r.len = outerLen;
  const reading: Reading = { param, time, value: hasValue ? value : null, status: status as DeviceStatus, qc_flags: qcFlags, period_s: periodS };
  // proto3 cannot tell 0 from absent: a mean's counts are given only when it had samples.
  if (periodS > 0 && samples > 0) {
    reading.samples = samples;
    reading.coverage = coverage;
  }
  return reading;
}

/**
 * A reading's parameter code. A batch repeats a few codes hundreds of times: bytes equal to the last code read
 * give the same string again, without decoding (and verifying) UTF-8 or allocating a string per reading.
 */
let lastParamBytes: Uint8Array = new Uint8Array(0);
let lastParam = '';
function readParam(r: protobuf.Reader): string {
  const start = r.pos;
  const length = r.size();
  const from = r.pos;
  const end = from + length;
  if (end <= r.len && length === lastParamBytes.length && length > 0) {
    const buf = r.buf;
    let same = true;
    for (let i = 0; i < length; i++) {
      if (buf[from + i] !== lastParamBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) {
      r.pos = end;
      return lastParam;
    }
  }
  r.pos = start;
  const param = r.stringVerify();
  lastParamBytes = new Uint8Array(r.buf.subarray(from, end)); // a copy: the payload may be a view on a reused buffer
  lastParam = param;
  return param;
}

/** An int64/uint64 varint as a number (as toObject's `longs: Number`); times and counters take the short path. */
function readLong(r: protobuf.Reader, unsigned: boolean): number {
  const buf = r.buf;
  let pos = r.pos;
  let value = 0;
  let scale = 1;
  // Up to 7 bytes (< 2^49) add up exactly in a double, without a Long object.
  for (let i = 0; i < 7 && pos < r.len; i++) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      r.pos = pos;
      return value;
    }
    scale *= 128;
  }
  const long = unsigned ? r.uint64() : r.int64();
  return typeof long === 'number' ? long : protobuf.util.LongBits.from(long).toNumber(unsigned);
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
