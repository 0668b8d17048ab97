import type { AnalogProbeConfig } from './drivers/analog.ts';

/**
 * The node's configuration. The bundle carries DEFAULT_CONFIG; on the board a JSON file `envmon.json` in
 * Storage overrides it section by section (see README), so station credentials are not compiled in.
 */
export interface NodeConfig {
  station: string;
  /** How often the I2C, 1-Wire and analog sensors are sampled and the watchdog is fed. */
  samplePeriodMs: number;
  /** Averaging window, whole seconds; one reading per parameter per window, stamped with the window's start. */
  reportPeriodMs: number;
  /** PM readings get the humidity QC flag when the window's mean RH is above this (%). */
  humidityFlagRh: number;
  /** This many identical consecutive samples (raw) mark a sensor as stuck → status 02. */
  stuckSamples: number;
  /** A window with this many checksum/CRC/read errors on a sensor → status 02. */
  maxErrorsPerWindow: number;
  watchdogS: number;
  /** RAM for readings waiting to be sent (ring buffer), bytes. */
  ringBytes: number;
  mode: 'modbus' | 'mqtt';
  /** Sensors; leave one out when it is not fitted. Parameter codes are from protocol/parameters.yaml. */
  pms?: { uart: string; rx?: string; tx?: string; pm25: string; pm10: string };
  sht3x?: { i2c: string; scl?: string; sda?: string; addr: number; temp: string; rh: string };
  ds18b20?: { pin: string; rom?: string; param: string };
  analog?: AnalogProbeConfig;
  modbus?: { uart: string; rx?: string; tx?: string; dePin?: string; baud: number; unitId: number };
  /**
   * `periodS` is the `period_s` sent with each reading. Default 0 ("raw"): the ingest's latest values, hourly
   * means, VN_AQI and alarms read the raw series, and a node's window mean is its sample. Set it to the window
   * length (e.g. 60) to store the readings as means instead.
   */
  mqtt?: { host: string; port: number; username?: string; password: string; keepaliveS: number; batchMax: number; periodS?: number };
}

export const DEFAULT_CONFIG: NodeConfig = {
  station: 'NODE1',
  samplePeriodMs: 5000,
  reportPeriodMs: 60000,
  humidityFlagRh: 70,
  stuckSamples: 60,
  maxErrorsPerWindow: 3,
  watchdogS: 30,
  ringBytes: 8000,
  mode: 'modbus',
  pms: { uart: 'Serial2', rx: 'D16', tx: 'D17', pm25: 'PM2_5', pm10: 'PM10' },
  sht3x: { i2c: 'I2C1', scl: 'D22', sda: 'D21', addr: 0x44, temp: 'TEMP', rh: 'RH' },
  ds18b20: { pin: 'D4', param: 'WTEMP' },
  analog: { pin: 'D36', param: 'PH', vref: 3.3, shuntOhm: 150, cal: { raw1: 0.2424, value1: 4, raw2: 0.6061, value2: 10 } },
  modbus: { uart: 'Serial1', rx: 'D26', tx: 'D27', dePin: 'D25', baud: 9600, unitId: 1 },
  mqtt: { host: '127.0.0.1', port: 1883, password: '', keepaliveS: 60, batchMax: 20 },
};

/** Overrides DEFAULT_CONFIG with a stored object, one section at a time; `null` removes a sensor. */
export function mergeConfig(base: NodeConfig, over: unknown): NodeConfig {
  const out: NodeConfig = Object.assign({}, base);
  if (!over || typeof over !== 'object') return out;
  const o = over as Record<string, unknown>;
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = o[k];
    const cur = (out as unknown as Record<string, unknown>)[k];
    if (v === null) delete (out as unknown as Record<string, unknown>)[k];
    else if (typeof v === 'object' && cur && typeof cur === 'object') (out as unknown as Record<string, unknown>)[k] = Object.assign({}, cur, v);
    else (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}
