import type { BitFunction, DeviceProfile, FunctionCode } from '../profile/schema.ts';
import { bitLevel, bitMap, rawFor, registerImage, type DeviceState, type ValueOverride } from './register-image.ts';

/** Modbus exception 02, "illegal data address": what a real device answers for an unmapped register. */
export const ILLEGAL_DATA_ADDRESS = { modbusErrorCode: 0x02, msg: 'Illegal data address' };

/** One simulated instrument: its registers (from the profile and the signal model) and its forced state. */
export interface SimulatedDevice {
  readonly profile: DeviceProfile;
  /**
   * Words of `length` registers from `addr` (functions 3, 4), or bits as 0/1 (functions 1 coils, 2 discrete
   * inputs); throws ILLEGAL_DATA_ADDRESS if any is unmapped.
   */
  read(fn: FunctionCode | BitFunction, addr: number, length: number): number[];
  /** Sets the fault bit of every status register and every fault bit (the gateway then reports status 02). */
  setFault(on: boolean): void;
  /** Sets the calibration bit of every status register and every calibration bit (status 01). */
  setCalibrating(on: boolean): void;
  /** Sets the humidity bit of every status register and every humidity bit (QcFlag.HUMIDITY). */
  setHumid(on: boolean): void;
  /**
   * Forces one coil/discrete input, named as in the profile's `bits`, to a wire level (true = 1; an active-low bit
   * is then inactive); `undefined` returns it to the state set above.
   */
  setBit(name: string, level: boolean | undefined): void;
  /** Forces one parameter's register to a value, its sentinel or NaN; `undefined` returns it to the signal. */
  setValue(param: string, value: ValueOverride | undefined): void;
}

export function createSimulatedDevice(profile: DeviceProfile, seed: number, now: () => number): SimulatedDevice {
  const state: DeviceState = { fault: false, calibrating: false, humid: false, overrides: new Map(), bits: new Map() };
  const bits = bitMap(profile);
  return {
    profile,
    read(fn, addr, length) {
      if (fn === 1 || fn === 2) {
        const table = bits.get(fn)!;
        const out: number[] = [];
        for (let i = 0; i < length; i++) {
          const b = table.get(addr + i);
          if (b === undefined) throw ILLEGAL_DATA_ADDRESS;
          out.push(b === null ? 0 : bitLevel(b, state));
        }
        return out;
      }
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
    setHumid(on) {
      state.humid = on;
    },
    setBit(name, level) {
      if (!profile.bits.some((b) => b.name === name)) {
        throw new Error(`no bit named "${name}" in profile ${profile.id}; its bits: ${profile.bits.map((b) => b.name).join(', ') || '(none)'}`);
      }
      if (level === undefined) state.bits.delete(name);
      else state.bits.set(name, level);
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
