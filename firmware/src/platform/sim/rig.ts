import { DEFAULT_CONFIG, mergeConfig, type NodeConfig } from '../../config.ts';
import { SimDs18b20, SimPms5003, SimSht3x, ds18b20Rom } from './devices.ts';
import { SimPlatform, type SimUart } from './sim-platform.ts';

/** A simulated board with every sensor of DEFAULT_CONFIG wired where the configuration says. */
export interface SimRig {
  p: SimPlatform;
  cfg: NodeConfig;
  pms: SimPms5003;
  sht: SimSht3x;
  ds: SimDs18b20;
  /** Analog probe input as a fraction of the ADC reference. */
  analog: { raw: number };
}

export function simRig(clock: 'virtual' | 'real', over: unknown): SimRig {
  const cfg = mergeConfig(DEFAULT_CONFIG, over);
  const p = new SimPlatform({ clock });
  // A real PMS5003 streams about once a second; faster when the test samples faster.
  const pms = new SimPms5003(p, p.uart(cfg.pms ? cfg.pms.uart : 'Serial2') as SimUart, Math.min(1000, cfg.samplePeriodMs));
  const sht = new SimSht3x();
  if (cfg.sht3x) (p.i2c(cfg.sht3x.i2c) as unknown as { devices: Record<number, SimSht3x> }).devices[cfg.sht3x.addr] = sht;
  const ds = new SimDs18b20(ds18b20Rom([1, 2, 3, 4, 5, 6]));
  if (cfg.ds18b20) (p.oneWire(cfg.ds18b20.pin) as unknown as { devices: SimDs18b20[] }).devices.push(ds);
  // 12 mA on the default pH probe: 1.8 V over 150 Ω on a 3.3 V ADC.
  const analog = { raw: 1.8 / 3.3 };
  let n = 0;
  if (cfg.analog) p.analog[cfg.analog.pin] = () => analog.raw + ((n++ % 5) - 2) * 1e-4;
  return { p, cfg, pms, sht, ds, analog };
}
