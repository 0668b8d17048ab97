import { createServer } from 'node:net';
import Modbus from 'modbus-serial';
import type { DeviceProfile, FunctionCode } from '../profile/schema.ts';
import { rawFor, registerImage, type DeviceState, type ValueOverride } from './register-image.ts';

export interface ModbusTcpSimulatorOptions {
  profile: DeviceProfile;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The unit id the simulator answers to; requests for other ids get no answer, as on a real gateway. */
  unitId?: number;
  /** Seeds noise and episodes; the same seed gives the same signal. Default: random. */
  seed?: number;
  /** The simulated clock in Unix ms (default Date.now); tests move it to see the signal change. */
  now?: () => number;
}

export interface ModbusTcpSimulator {
  port: number;
  host: string;
  stop(): Promise<void>;
  /** Sets the fault bit of every status register (the gateway then reports status 02). */
  setFault(on: boolean): void;
  /** Sets the calibration bit of every status register (status 01). */
  setCalibrating(on: boolean): void;
  /** Forces one parameter's register to a value, its sentinel or NaN; `undefined` returns it to the signal. */
  setValue(param: string, value: ValueOverride | undefined): void;
}

/** Modbus exception 02, "illegal data address": what a real device answers for an unmapped register. */
const ILLEGAL_DATA_ADDRESS = { modbusErrorCode: 0x02, msg: 'Illegal data address' };

/** Serves a device profile as a Modbus TCP slave on loopback (or `host`), with values from the signal model. */
export async function startModbusTcpSimulator(opts: ModbusTcpSimulatorOptions): Promise<ModbusTcpSimulator> {
  const { profile, host = '127.0.0.1', unitId = 1 } = opts;
  const seed = opts.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const now = opts.now ?? Date.now;
  const state: DeviceState = { fault: false, calibrating: false, overrides: new Map() };

  const read = (fn: FunctionCode, addr: number, length: number): number[] => {
    const image = registerImage(profile, fn, now(), seed, state);
    const words: number[] = [];
    for (let i = 0; i < length; i++) {
      const w = image.get(addr + i);
      if (w === undefined) throw ILLEGAL_DATA_ADDRESS;
      words.push(w);
    }
    return words;
  };
  // ServerTCP calls the single-register form for a length-1 read and the multiple form otherwise.
  const vector = {
    getHoldingRegister: (addr: number) => read(3, addr, 1)[0]!,
    getMultipleHoldingRegisters: (addr: number, length: number) => read(3, addr, length),
    getInputRegister: (addr: number) => read(4, addr, 1)[0]!,
    getMultipleInputRegisters: (addr: number, length: number) => read(4, addr, length),
  };

  const { server, port } = await listen(vector, host, opts.port ?? 0, unitId);
  let stopped: Promise<void> | undefined;
  return {
    port,
    host,
    stop() {
      stopped ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return stopped;
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

type Vector = ConstructorParameters<typeof Modbus.ServerTCP>[0];

/**
 * ServerTCP treats port 0 as "use 502" (it writes `options.port || 502`) and never reports the bound port,
 * so for port 0 we ask the OS for a free port first, then retry if another process takes it in between.
 */
async function listen(vector: Vector, host: string, port: number, unitId: number): Promise<{ server: InstanceType<typeof Modbus.ServerTCP>; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const p = port === 0 ? await freePort(host) : port;
    try {
      return { server: await startServer(vector, host, p, unitId), port: p };
    } catch (err) {
      if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 4) {
        throw new Error(`modbus simulator cannot listen on ${host}:${p}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}

function startServer(vector: Vector, host: string, port: number, unitId: number): Promise<InstanceType<typeof Modbus.ServerTCP>> {
  return new Promise((resolve, reject) => {
    const server = new Modbus.ServerTCP(vector, { host, port, unitID: unitId });
    server.once('initialized', () => resolve(server));
    server.once('serverError', (err) => reject(err));
    // A client that resets its connection is normal (gateway restarts); without a listener it would throw.
    server.on('socketError', () => {});
    server.on('error', () => {});
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
