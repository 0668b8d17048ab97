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
 * No board, or a board that stopped reporting, gives null/02 readings like any other device; a port that cannot be
 * opened or goes away is retried with a backoff (see connect()).
 */

/** The parts of a firmata-io instance (or mock-firmata board) used here. */
type FirmataIo = import('node:events').EventEmitter & { reportVersionTimeoutId?: NodeJS.Timeout };
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
  let io: FirmataIo | undefined;
  let port: SerialPort | undefined;
  let ready = false;
  let running = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  const path = device.transport.path;

  /**
   * A real board: the port, firmata-io and the johnny-five Board are built afresh at each attempt, with every
   * 'error' listened to (firmata-io re-emits a port error as an 'error' of its own before the board is ready, which
   * nothing else listens to: unhandled, it ended the process). Any failure — the port missing or refused, the board
   * not answering Firmata within the timeout, the port closing (unplugged) — tears the attempt down and retries
   * with a backoff, 0.5 s doubling to 10 s, like a Modbus link; meanwhile polls give null/02.
   */
  function connect(): void {
    if (!running) return;
    if (opts.io !== undefined) {
      attach(opts.io as FirmataIo, (err) => {
        st.error = `board: ${err.message}`;
      });
      return;
    }
    const Firmata = firmataIo(SerialPort);
    const p = new SerialPort({ path, baudRate: device.transport.baudRate === 9600 ? 57600 : device.transport.baudRate, autoOpen: false });
    const i = new Firmata(p) as FirmataIo; // listens to the port before it opens, so it sees 'open' and emits 'connect'
    port = p;
    io = i;
    let failed = false;
    const fail = (err: Error): void => {
      if (failed || !running || port !== p) return;
      failed = true;
      failures++;
      const wasOpen = ready || p.isOpen; // else the port itself could not be opened
      const why = wasOpen ? `${path}: ${err.message}` : `cannot open ${path}: ${err.message}`;
      const delay = Math.min(10_000, 500 * 2 ** Math.min(failures - 1, 5));
      if (why !== st.error) log.warn({ port: path, err: err.message, retry_ms: delay }, wasOpen ? 'firmata board lost; reopening' : 'firmata board cannot be opened; retrying');
      st.error = why;
      void teardown();
      retryTimer = setTimeout(connect, delay);
    };
    p.on('error', fail);
    p.on('close', () => fail(new Error('port closed')));
    i.on('error', fail);
    attach(i, fail);
    p.open((err) => {
      if (err) fail(err);
    });
  }

  function attach(i: FirmataIo, fail: (err: Error) => void): void {
    const b = new five.Board({ io: i, repl: false, debug: false, sigint: false, timeout: device.timeoutMs > 10_000 ? device.timeoutMs : 10_000 });
    board = b;
    b.on('error', (err: Error) => fail(err));
    b.on('ready', () => {
      ready = true;
      failures = 0;
      log.info({ port: path, analog: analog.length, digital: digital.length }, 'firmata board ready');
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

  /** Drops the current attempt: sensors' timers, johnny-five's connect timer and board cache, firmata-io's timer, the port. */
  function teardown(): Promise<void> {
    ready = false;
    level.clear();
    for (const s of sensors) {
      s.removeAllListeners('data');
      s.disable();
    }
    sensors.length = 0;
    const b = board;
    board = undefined;
    if (b) {
      clearTimeout(b.timer ?? undefined);
      b.removeAllListeners();
      b.on('error', () => {});
      const k = five.Board.cache.indexOf(b);
      if (k >= 0) five.Board.cache.splice(k, 1);
    }
    const i = io;
    io = undefined;
    if (i) {
      clearTimeout(i.reportVersionTimeoutId);
      i.removeAllListeners();
      i.on('error', () => {});
    }
    const p = port;
    port = undefined;
    if (!p) return Promise.resolve();
    p.removeAllListeners();
    p.on('error', () => {});
    return p.isOpen ? new Promise<void>((r) => p.close(() => r())) : Promise.resolve();
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
      running = true;
      connect();
      schedule.start();
    },
    async stop() {
      running = false;
      clearTimeout(retryTimer);
      await schedule.stop();
      await teardown();
    },
    pollOnce: () => schedule.runOnce(),
    state: () => ({ ...st }),
    params: () => analog.map((p) => p.param),
  };
}
