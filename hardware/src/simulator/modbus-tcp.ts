import Modbus from 'modbus-serial';
import type { DeviceProfile } from '../profile/schema.ts';
import { createSimulatedDevice, type SimulatedDevice } from './device.ts';
import { freePort } from './free-port.ts';

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

/** The simulated instrument (setFault, setCalibrating, setValue) behind a Modbus TCP listener. */
export interface ModbusTcpSimulator extends Pick<SimulatedDevice, 'setFault' | 'setCalibrating' | 'setHumid' | 'setBit' | 'setValue'> {
  port: number;
  host: string;
  stop(): Promise<void>;
}

/** Serves a device profile as a Modbus TCP slave on loopback (or `host`), with values from the signal model. */
export async function startModbusTcpSimulator(opts: ModbusTcpSimulatorOptions): Promise<ModbusTcpSimulator> {
  const { profile, host = '127.0.0.1', unitId = 1 } = opts;
  const seed = opts.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const device = createSimulatedDevice(profile, seed, opts.now ?? Date.now);
  const read = device.read.bind(device);
  // ServerTCP calls the single-register form for a length-1 read and the multiple form otherwise.
  const vector = {
    getHoldingRegister: (addr: number) => read(3, addr, 1)[0]!,
    getMultipleHoldingRegisters: (addr: number, length: number) => read(3, addr, length),
    getInputRegister: (addr: number) => read(4, addr, 1)[0]!,
    getMultipleInputRegisters: (addr: number, length: number) => read(4, addr, length),
    // ServerTCP asks bit by bit (functions 1 and 2); a throw is answered with its exception code.
    getCoil: (addr: number) => read(1, addr, 1)[0] === 1,
    getDiscreteInput: (addr: number) => read(2, addr, 1)[0] === 1,
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
    setFault: (on) => device.setFault(on),
    setCalibrating: (on) => device.setCalibrating(on),
    setHumid: (on) => device.setHumid(on),
    setBit: (name, level) => device.setBit(name, level),
    setValue: (param, value) => device.setValue(param, value),
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
