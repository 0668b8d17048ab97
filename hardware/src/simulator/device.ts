import type { DeviceProfile, FunctionCode } from '../profile/schema.ts';
import { rawFor, registerImage, type DeviceState, type ValueOverride } from './register-image.ts';

/** Modbus exception 02, "illegal data address": what a real device answers for an unmapped register. */
export const ILLEGAL_DATA_ADDRESS = { modbusErrorCode: 0x02, msg: 'Illegal data address' };

/** One simulated instrument: its registers (from the profile and the signal model) and its forced state. */
export interface SimulatedDevice {
  readonly profile: DeviceProfile;
  /** Words of `length` registers from `addr`; throws ILLEGAL_DATA_ADDRESS if any is unmapped. */
  read(fn: FunctionCode, addr: number, length: number): number[];
  /** Sets the fault bit of every status register (the gateway then reports status 02). */
  setFault(on: boolean): void;
  /** Sets the calibration bit of every status register (status 01). */
  setCalibrating(on: boolean): void;
  /** Forces one parameter's register to a value, its sentinel or NaN; `undefined` returns it to the signal. */
  setValue(param: string, value: ValueOverride | undefined): void;
}

export function createSimulatedDevice(profile: DeviceProfile, seed: number, now: () => number): SimulatedDevice {
  const state: DeviceState = { fault: false, calibrating: false, overrides: new Map() };
  return {
    profile,
    read(fn, addr, length) {
      const image = registerImage(profile, fn, now(), seed, state);
      const words: number[] = [];
      for (let i = 0; i < length; i++) {
        const w = image.get(addr + i);
        if (w === undefined) throw ILLEGAL_DATA_ADDRESS;
        words.push(w);
      }
      return words;
    },
    setFault(on) {
      state.fault = on;
    },
    setCalibrating(on) {
      state.calibrating = on;
    },
    setValue(param, value) {
      const reg = profile.registers.find((r) => r.param === param);
      if (!reg) throw new Error(`${param} is not in profile ${profile.id}`);
      if (value === undefined) return void state.overrides.delete(param);
      rawFor(reg, now(), seed, value); // refuse now what the register could not hold, not at the next read
      state.overrides.set(param, value);
    },
  };
}
