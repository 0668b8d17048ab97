import type { NodeConfig } from '../config.ts';
import { readAnalog } from '../drivers/analog.ts';
import { Ds18b20, findDs18b20 } from '../drivers/ds18b20.ts';
import { PMS_CMD_ACTIVE, PMS_CMD_SLEEP, PmsStream, pmsCommand, type PmsFrame } from '../drivers/pms5003.ts';
import { measureSht3x, type Sht3xSample } from '../drivers/sht3x.ts';
import type { Platform } from '../platform/types.ts';
import { Channel, QC_HUMIDITY, type WindowResult } from './channel.ts';

/**
 * Slots: the node's fixed channels. The slot is the Modbus register block (see modbus/register-map.ts) and is
 * what the ring buffer stores; the parameter code of each slot comes from the configuration.
 */
export const SLOT_PM25 = 0;
export const SLOT_PM10 = 1;
export const SLOT_TEMP = 2;
export const SLOT_RH = 3;
export const SLOT_PROBE_TEMP = 4;
export const SLOT_ANALOG = 5;
export const SLOT_COUNT = 6;

export interface Report {
  slot: number;
  param: string;
  /** Window start, Unix ms. */
  time: number;
  periodS: number;
  value: number | null;
  status: number;
  qc: number;
  reason: string;
}

export interface SensorNode {
  /** Channels by slot; undefined where the sensor is not fitted. */
  channels: (Channel | undefined)[];
  /** The last window's reports by slot. */
  last: (Report | undefined)[];
  stats: { ticks: number; windows: number; pmsFrames: number; pmsErrors: number; watchdogKicks: number };
  /** Called with each window's reports; an exception here stops the watchdog from being fed. */
  onReport: (reports: Report[]) => void;
  stop(): void;
}

/**
 * Starts sampling: PMS frames as they arrive, the other sensors every `samplePeriodMs`; closes a window every
 * `reportPeriodMs` (aligned to the clock) and feeds the watchdog only while windows keep closing.
 */
export function startNode(p: Platform, cfg: NodeConfig): SensorNode {
  const channels: (Channel | undefined)[] = [];
  const mk = (slot: number, param: string | undefined): void => {
    channels[slot] = param ? new Channel(slot, param, cfg.stuckSamples, cfg.maxErrorsPerWindow) : undefined;
  };
  for (let i = 0; i < SLOT_COUNT; i++) channels[i] = undefined;
  if (cfg.pms) {
    mk(SLOT_PM25, cfg.pms.pm25);
    mk(SLOT_PM10, cfg.pms.pm10);
  }
  if (cfg.sht3x) {
    mk(SLOT_TEMP, cfg.sht3x.temp);
    mk(SLOT_RH, cfg.sht3x.rh);
  }
  if (cfg.ds18b20) mk(SLOT_PROBE_TEMP, cfg.ds18b20.param);
  if (cfg.analog) mk(SLOT_ANALOG, cfg.analog.param);

  const node: SensorNode = {
    channels,
    last: [],
    stats: { ticks: 0, windows: 0, pmsFrames: 0, pmsErrors: 0, watchdogKicks: 0 },
    onReport: () => undefined,
    stop: () => undefined,
  };

  // PMS5003: active mode streams a frame every 0.2–2.3 s; each frame is one sample of both PM slots.
  let pms: PmsStream | undefined;
  if (cfg.pms) {
    const pmsCfg = cfg.pms;
    pms = new PmsStream((f: PmsFrame) => {
      node.stats.pmsFrames++;
      channels[SLOT_PM25]!.add(f.pm25, f.fingerprint);
      channels[SLOT_PM10]!.add(f.pm10, f.fingerprint);
    });
    const uart = p.uart(pmsCfg.uart);
    uart.setup(9600, { rx: pmsCfg.rx, tx: pmsCfg.tx });
    uart.onData((d) => {
      const before = pms!.errors;
      pms!.push(d);
      for (let i = before; i < pms!.errors; i++) {
        node.stats.pmsErrors++;
        channels[SLOT_PM25]!.fail('PMS ' + pms!.lastError);
        channels[SLOT_PM10]!.fail('PMS ' + pms!.lastError);
      }
    });
    // Wake it and make sure it streams (it may have been left asleep or in passive mode).
    uart.write(pmsCommand(PMS_CMD_SLEEP, 1));
    uart.write(pmsCommand(PMS_CMD_ACTIVE, 1));
  }

  const shtBus = cfg.sht3x ? p.i2c(cfg.sht3x.i2c) : undefined;
  if (cfg.sht3x) shtBus!.setup({ scl: cfg.sht3x.scl, sda: cfg.sht3x.sda, bitrate: 100000 });

  let ds: Ds18b20 | undefined;
  let dsConverting = false;
  if (cfg.ds18b20) {
    const bus = p.oneWire(cfg.ds18b20.pin);
    let rom = cfg.ds18b20.rom || '';
    if (!rom) {
      try {
        rom = findDs18b20(bus.search());
      } catch (e) {
        rom = '';
      }
    }
    ds = new Ds18b20(bus, rom);
  }

  const sampleSensors = (): void => {
    if (shtBus && cfg.sht3x) {
      measureSht3x(shtBus, cfg.sht3x.addr, (fn, ms) => p.setTimeout(fn, ms), (err: string | null, s: Sht3xSample | null) => {
        if (err || !s) {
          channels[SLOT_TEMP]!.fail('SHT3x ' + err);
          channels[SLOT_RH]!.fail('SHT3x ' + err);
          return;
        }
        channels[SLOT_TEMP]!.add(s.t, s.rawT);
        channels[SLOT_RH]!.add(s.rh, s.rawRh);
      });
    }
    if (ds) {
      // Pipelined: read the conversion started one tick ago (≥ 750 ms), then start the next one.
      if (dsConverting) {
        const t = ds.read();
        if (typeof t === 'string') channels[SLOT_PROBE_TEMP]!.fail('DS18B20 ' + t);
        else channels[SLOT_PROBE_TEMP]!.add(t, t);
      }
      dsConverting = ds.startConversion();
      if (!dsConverting) channels[SLOT_PROBE_TEMP]!.fail('DS18B20 no presence pulse');
    }
    if (cfg.analog) {
      const a = readAnalog((pin) => p.analogRead(pin), cfg.analog);
      if (typeof a.value === 'string') channels[SLOT_ANALOG]!.fail(a.value);
      // ADC noise makes a live probe's raw reading move; compare it at 1e-4 of full scale.
      else channels[SLOT_ANALOG]!.add(a.value, Math.round(a.raw * 10000));
    }
  };

  const closeWindow = (start: number): void => {
    const results: (WindowResult | undefined)[] = [];
    for (let i = 0; i < SLOT_COUNT; i++) results[i] = channels[i] ? channels[i]!.close() : undefined;
    const rh = results[SLOT_RH];
    const humid = !!rh && rh.value !== null && rh.value > cfg.humidityFlagRh;
    const reports: Report[] = [];
    for (let i = 0; i < SLOT_COUNT; i++) {
      const r = results[i];
      if (!r) continue;
      const pm = i === SLOT_PM25 || i === SLOT_PM10;
      const rep: Report = {
        slot: i,
        param: channels[i]!.param,
        time: start,
        periodS: Math.round(cfg.reportPeriodMs / 1000),
        value: r.value,
        status: r.status,
        qc: pm && humid ? QC_HUMIDITY : 0,
        reason: r.reason,
      };
      node.last[i] = rep;
      reports.push(rep);
    }
    node.stats.windows++;
    node.onReport(reports);
  };

  const windowOf = (t: number): number => Math.floor(t / cfg.reportPeriodMs) * cfg.reportPeriodMs;
  let windowStart = windowOf(p.now());
  let lastWindowAt = p.now();

  const tick = (): void => {
    node.stats.ticks++;
    try {
      sampleSensors();
    } catch (e) {
      p.log('sample failed: ' + e);
    }
    const now = p.now();
    if (now >= windowStart + cfg.reportPeriodMs) {
      const start = windowStart;
      windowStart = windowOf(now);
      try {
        closeWindow(start);
        lastWindowAt = now;
      } catch (e) {
        p.log('report failed: ' + e);
      }
    }
    // Feed the watchdog only while the pipeline works: if windows stop closing (a bug, a wedged output), the
    // board resets instead of sampling forever into nowhere. Network outages do not stop windows closing.
    if (now - lastWindowAt <= 2 * cfg.reportPeriodMs + cfg.samplePeriodMs) {
      p.watchdogKick();
      node.stats.watchdogKicks++;
    }
  };

  p.watchdogEnable(cfg.watchdogS);
  const timer = p.setInterval(tick, cfg.samplePeriodMs);
  node.stop = () => p.clearInterval(timer);
  return node;
}
