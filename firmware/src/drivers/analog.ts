/**
 * An analog probe read through the ADC, with a two-point calibration.
 *
 * Espruino's `analogRead(pin)` returns the conversion as a fraction 0..1 of the ADC reference (e.g. an ESP32 12-bit
 * ADC1 count / 4095). Industrial probes (pH, level, dissolved oxygen transmitters) usually give 4–20 mA: across a
 * shunt of `shuntOhm` the ADC sees I·R. NAMUR NE 43 (2003) sets the signal range: 3.8–20.5 mA is a measurement,
 * below 3.6 mA or above 21 mA the transmitter reports a failure (open loop, short, sensor fault).
 *
 * Calibration: the probe is put in two references (e.g. pH 4.01 and 9.18 buffers, or zero and span gas) and the
 * raw readings are stored; value = v1 + (raw − raw1) · (v2 − v1) / (raw2 − raw1).
 */
export interface AnalogCalibration {
  raw1: number;
  value1: number;
  raw2: number;
  value2: number;
}

export interface AnalogProbeConfig {
  pin: string;
  param: string;
  cal: AnalogCalibration;
  /** ADC reference in volts and loop shunt in ohms: when both are set the loop current is checked (NE 43). */
  vref?: number;
  shuntOhm?: number;
  /** Conversions averaged per sample (default 16). */
  oversample?: number;
}

/** Linear map through the two calibration points; a string when the calibration is unusable. */
export function calibrate(raw: number, cal: AnalogCalibration): number | string {
  if (cal.raw2 === cal.raw1) return 'calibration points have the same raw reading';
  return cal.value1 + ((raw - cal.raw1) * (cal.value2 - cal.value1)) / (cal.raw2 - cal.raw1);
}

/** Checks a raw reading: ADC rails, then NE 43 failure currents; '' when good. */
export function analogFault(raw: number, cfg: AnalogProbeConfig): string {
  if (!(raw > 0.002)) return 'ADC at 0: open input or short to ground';
  if (raw > 0.998) return 'ADC at full scale: short to supply';
  if (cfg.vref && cfg.shuntOhm) {
    const mA = ((raw * cfg.vref) / cfg.shuntOhm) * 1000;
    if (mA < 3.6) return 'loop current ' + mA.toFixed(2) + ' mA < 3.6 mA (NAMUR NE 43 failure)';
    if (mA > 21) return 'loop current ' + mA.toFixed(2) + ' mA > 21 mA (NAMUR NE 43 failure)';
  }
  return '';
}

/** Reads the probe: averaged raw, calibrated value or the fault. */
export function readAnalog(read: (pin: string) => number, cfg: AnalogProbeConfig): { raw: number; value: number | string } {
  const n = cfg.oversample || 16;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += read(cfg.pin);
  const raw = sum / n;
  const fault = analogFault(raw, cfg);
  return { raw, value: fault ? fault : calibrate(raw, cfg.cal) };
}
