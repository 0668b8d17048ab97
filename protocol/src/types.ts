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
  /** Means only: how many raw samples went into the mean. */
  samples?: number;
  /** Means only: samples / samples expected in the period, 0..1. */
  coverage?: number;
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
  /** Counters since the gateway started (absent from older gateways). */
  polls?: number;
  errors?: number;
  timeouts?: number;
  quarantined?: boolean;
}

export interface StationStatus {
  station: string;
  online: boolean;
  time: number;
  software: string;
  outbox_depth: number;
  outbox_oldest: number;
  devices: DeviceState[];
  /** Seconds since the gateway process started. */
  uptime_s?: number;
  /** Readings the outbox dropped unsent because of its size/age bounds, ever. */
  outbox_dropped?: number;
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
