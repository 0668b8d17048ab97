import { SerialPort } from 'serialport';
import five from 'johnny-five';
import firmataIo from 'firmata-io';
import { DeviceStatus, type DeviceState, type Reading } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { FirmataDeviceConfig, FirmataPin } from '../config.ts';
import type { DevicePoller } from '../modbus/device-poller.ts';
import { createSchedule } from '../schedule.ts';

/**
 * A Firmata board (an Arduino running StandardFirmata, 57600 Bd) read through johnny-five:
 *
 * - analog pins → a parameter, scaled linearly from `raw: [r0, r1]` (default the 10-bit ADC, 0..1023) to
 *   `value: [v0, v1]` in the catalogue unit (e.g. a 4–20 mA transmitter on a 250 Ω shunt: raw [205, 1023] →
 *   value [0, 14] pH). johnny-five samples each pin every 25 ms; a poll emits the mean since the last poll.
 * - digital pins → the status of `params`: a `fault` contact (an analyser's alarm relay) makes them 02, a
 *   `calibration` contact ("maintenance" relay) 01, while the pin is at its `active` level.
 *
 * The io is firmata-io over serialport 13 for a real board; tests pass johnny-five's own mock-firmata board.
 * No board, or a board that stopped reporting, gives null/02 readings like any other device.
 */
export function createFirmataPoller(opts: { device: FirmataDeviceConfig; onReadings: (r: Reading[]) => void; log: Logger; now?: () => number; io?: unknown }): DevicePoller {
  const { device } = opts;
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ device: device.id });
  const analog = device.pins.filter((p): p is FirmataPin & { param: string } => p.kind === 'analog' && p.param !== undefined);
  const digital = device.pins.filter((p) => p.kind === 'digital' && p.role !== undefined);
  const st: DeviceState = { device: device.id, status: DeviceStatus.MEASURING, error: '', last_ok: 0, polls: 0, errors: 0, timeouts: 0, quarantined: false };
  const sums = new Map<string, { sum: number; n: number }>();
  const level = new Map<FirmataPin, number>();
  const sensors: InstanceType<typeof five.Sensor>[] = [];
  let board: InstanceType<typeof five.Board> | undefined;
  let port: SerialPort | undefined;
  let ready = false;

  function connect(): void {
    let io = opts.io;
    if (io === undefined) {
      const Firmata = firmataIo(SerialPort);
      port = new SerialPort({ path: device.transport.path, baudRate: device.transport.baudRate === 9600 ? 57600 : device.transport.baudRate, autoOpen: true });
      port.on('error', (err) => {
        st.error = `${device.transport.path}: ${err.message}`;
      });
      io = new Firmata(port);
    }
    const b = new five.Board({ io, repl: false, debug: false, timeout: 10_000 });
    board = b;
    b.on('error', (err: Error) => {
      st.error = `board: ${err.message}`;
    });
    b.on('ready', () => {
      ready = true;
      log.info({ analog: analog.length, digital: digital.length }, 'firmata board ready');
      for (const p of analog) {
        const s = new five.Sensor({ pin: p.pin, board: b, freq: 25 });
        s.on('data', () => {
          if (s.value === null) return;
          const acc = sums.get(p.param) ?? { sum: 0, n: 0 };
          acc.sum += s.value;
          acc.n++;
          sums.set(p.param, acc);
        });
        sensors.push(s);
      }
      for (const p of digital) {
        const s = new five.Sensor({ pin: p.pin, board: b, freq: 25, type: 'digital' });
        s.on('data', () => {
          if (s.value !== null) level.set(p, s.value);
        });
        sensors.push(s);
      }
    });
  }

  const scale = (p: FirmataPin, raw: number): number => {
    if (!p.value) return raw;
    const [r0, r1] = p.raw;
    const [v0, v1] = p.value;
    return Number((v0 + ((raw - r0) * (v1 - v0)) / (r1 - r0)).toPrecision(6));
  };

  async function poll(): Promise<Reading[]> {
    const time = now();
    st.polls!++;
    const statusOf = new Map<string, DeviceStatus>();
    for (const p of digital) {
      const v = level.get(p);
      const active = v !== undefined && (p.active === 'high' ? v === 1 : v === 0);
      if (!active) continue;
      const s = p.role === 'fault' ? DeviceStatus.DEVICE_ERROR : DeviceStatus.CALIBRATING;
      for (const param of p.params.length > 0 ? p.params : analog.map((a) => a.param)) statusOf.set(param, Math.max(statusOf.get(param) ?? 0, s) as DeviceStatus);
    }
    const readings = analog.map((p): Reading => {
      const acc = sums.get(p.param);
      if (!acc || acc.n === 0) return { param: p.param, time, value: null, status: DeviceStatus.DEVICE_ERROR, qc_flags: 0, period_s: 0 };
      return { param: p.param, time, value: scale(p, acc.sum / acc.n), status: statusOf.get(p.param) ?? DeviceStatus.MEASURING, qc_flags: 0, period_s: 0 };
    });
    sums.clear();
    const missing = readings.some((r) => r.value === null);
    if (missing) {
      st.errors!++;
      st.error = ready ? `no samples from the board within ${device.pollIntervalMs} ms` : st.error || 'board not ready';
    } else {
      st.error = '';
      st.last_ok = time;
    }
    st.status = readings.reduce<number>((s, r) => Math.max(s, r.status), 0) as DeviceStatus;
    opts.onReadings(readings);
    return readings;
  }

  const schedule = createSchedule({ intervalMs: device.pollIntervalMs, now, run: poll, log });
  return {
    id: device.id,
    start() {
      connect();
      schedule.start();
    },
    async stop() {
      await schedule.stop();
      for (const s of sensors) {
        s.removeAllListeners('data');
        s.disable();
      }
      board?.removeAllListeners();
      const p = port;
      if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
    },
    pollOnce: () => schedule.runOnce(),
    state: () => ({ ...st }),
    params: () => analog.map((p) => p.param),
  };
}
