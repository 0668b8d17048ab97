import type { DeviceStatus } from './status.ts';

/** One measured value. Field names are the wire names (protobuf and JSON twin alike). */
export interface Reading {
  param: string;
  /** Measurement time at the source, Unix milliseconds UTC. */
  time: number;
  /** Engineering units of the catalogue; null when the device gave no usable value (status says why). */
  value: number | null;
  status: DeviceStatus;
  qc_flags: number;
  /** 0 = raw sample, otherwise the averaging period in seconds. */
  period_s: number;
}

export interface Batch {
  station: string;
  seq: number;
  sent_at: number;
  readings: Reading[];
}

export interface DeviceState {
  device: string;
  status: DeviceStatus;
  error: string;
  last_ok: number;
}

export interface StationStatus {
  station: string;
  online: boolean;
  time: number;
  software: string;
  outbox_depth: number;
  outbox_oldest: number;
  devices: DeviceState[];
}

export interface Command {
  id: string;
  name: string;
  args: Record<string, string>;
  issued_at: number;
}

export interface CommandResult {
  id: string;
  ok: boolean;
  message: string;
  time: number;
}
