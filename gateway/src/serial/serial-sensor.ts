import { ReadlineParser } from '@serialport/parser-readline';
import { SerialPort } from 'serialport';
import { DeviceStatus, type DeviceState, type Reading } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { AsciiDeviceConfig, PmsDeviceConfig } from '../config.ts';
import type { DevicePoller } from '../modbus/device-poller.ts';
import { createSchedule } from '../schedule.ts';
import { PmsFrameParser, type PmsFrame } from './pms-frame.ts';

/**
 * Serial sensors that talk by themselves (or answer a request line) instead of Modbus:
 *
 * - `ascii`: line-based instruments (NMEA-like weather sensors, analysers with an RS-232 "data output" line):
 *   each line that matches `match` is split by `separator`, field `index` → `param` × scale + offset. With
 *   `request`, that text is written at each poll (polled instruments); without it, the sensor streams.
 * - `pms`: Plantower PMS5003/PMS7003 32-byte frames with check code (see pms-frame.ts).
 *
 * Samples arrive at the sensor's own pace; at each poll slot the driver emits the mean of the samples received
 * since the previous slot (one reading per parameter, stamped with the slot), or null/02 when none came (sensor
 * silent, unplugged, garbage on the line). The port is reopened after it closes or fails to open.
 */
export function createSerialSensorPoller(opts: { device: AsciiDeviceConfig | PmsDeviceConfig; onReadings: (r: Reading[]) => void; log: Logger; now?: () => number }): DevicePoller {
  const { device } = opts;
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ device: device.id });
  const t = device.transport;
  const params = device.driver === 'pms' ? ['PM2_5', 'PM10'] : device.fields.map((f) => f.param);
  const sums = new Map<string, { sum: number; n: number }>();
  const st: DeviceState = { device: device.id, status: DeviceStatus.MEASURING, error: '', last_ok: 0, polls: 0, errors: 0, timeouts: 0, quarantined: false };
  let port: SerialPort | undefined;
  let opening = false;
  let running = false;
  let badLines = 0;

  const add = (param: string, v: number): void => {
    const s = sums.get(param) ?? { sum: 0, n: 0 };
    s.sum += v;
    s.n++;
    sums.set(param, s);
  };

  function onLine(line: string): void {
    const text = line.replace(/\r$/, '');
    if (device.driver !== 'ascii') return;
    if (device.match && !device.match.test(text)) return;
    const cols = text.split(device.separator);
    let any = false;
    for (const f of device.fields) {
      const raw = Number(cols[f.index]?.trim());
      if (cols[f.index] === undefined || cols[f.index]!.trim() === '' || !Number.isFinite(raw) || f.sentinels.includes(raw)) continue;
      add(f.param, raw * f.scale + f.offset);
      any = true;
    }
    if (!any) badLines++;
  }

  function onFrame(f: PmsFrame): void {
    if (device.driver !== 'pms') return;
    add('PM2_5', device.use === 'atmospheric' ? f.pm25Atm : f.pm25Cf1);
    add('PM10', device.use === 'atmospheric' ? f.pm10Atm : f.pm10Cf1);
  }

  function open(): void {
    if (!running || opening || port?.isOpen) return;
    opening = true;
    const p = new SerialPort({ path: t.path, baudRate: t.baudRate, parity: t.parity, dataBits: t.dataBits, stopBits: t.stopBits, autoOpen: false });
    p.open((err) => {
      opening = false;
      if (err) {
        if (st.error !== `cannot open ${t.path}: ${err.message}`) log.warn({ err: err.message }, 'serial port cannot be opened');
        st.error = `cannot open ${t.path}: ${err.message}`;
        return;
      }
      if (!running) return void p.close(() => {});
      port = p;
      log.info({ at: t.path }, 'serial sensor port open');
      if (device.driver === 'pms') p.pipe(new PmsFrameParser()).on('data', onFrame);
      else p.pipe(new ReadlineParser({ delimiter: device.delimiter })).on('data', onLine);
      p.on('close', () => {
        if (port === p) port = undefined;
      });
      p.on('error', () => {});
    });
  }

  async function poll(): Promise<Reading[]> {
    const time = now();
    st.polls!++;
    const readings = params.map((param): Reading => {
      const s = sums.get(param);
      if (!s || s.n === 0) return { param, time, value: null, status: DeviceStatus.DEVICE_ERROR, qc_flags: 0, period_s: 0 };
      return { param, time, value: Number((s.sum / s.n).toPrecision(7)), status: DeviceStatus.MEASURING, qc_flags: 0, period_s: 0 };
    });
    sums.clear();
    const missing = readings.filter((r) => r.value === null).length;
    if (missing > 0) {
      st.errors!++;
      st.timeouts!++;
      const why = port?.isOpen ? `no ${device.driver === 'pms' ? 'valid frame' : 'usable line'} within ${device.pollIntervalMs} ms on ${t.path}` : st.error || `${t.path} is not open`;
      if (why !== st.error) log.warn({ err: why }, 'serial sensor read failed');
      st.error = why;
    } else {
      if (st.error) log.info('serial sensor answers again');
      st.error = '';
      st.last_ok = time;
    }
    st.status = missing > 0 ? DeviceStatus.DEVICE_ERROR : DeviceStatus.MEASURING;
    opts.onReadings(readings);
    if (!port?.isOpen) open();
    else if (device.driver === 'ascii' && device.request !== undefined) port.write(device.request);
    return readings;
  }

  const schedule = createSchedule({ intervalMs: device.pollIntervalMs, now, run: poll, log });
  return {
    id: device.id,
    start() {
      running = true;
      open();
      schedule.start();
      // A polled instrument gets its first request now, so the first slot has an answer.
      setTimeout(() => {
        if (device.driver === 'ascii' && device.request !== undefined && port?.isOpen) port.write(device.request);
      }, 50).unref();
    },
    async stop() {
      running = false;
      await schedule.stop();
      const p = port;
      port = undefined;
      if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
    },
    pollOnce: () => schedule.runOnce(),
    state: () => ({ ...st, error: st.error || (badLines > 0 ? '' : '') }),
    params: () => params,
  };
}
