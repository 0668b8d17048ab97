import Modbus from 'modbus-serial';
import type { BitFunction, DeviceProfile, FunctionCode } from '../profile/schema.ts';
import { createSimulatedDevice, type SimulatedDevice } from './device.ts';

/**
 * A Modbus RTU bus of simulated instruments behind one serial port (in tests, one end of a `socat` pty pair):
 * modbus-serial's `ServerSerial` listening to every unit id, each id answered by its own profile. A unit id that
 * is not on the bus, or a slave set dead, gets no answer at all — on RS-485 a missing or powered-off slave is
 * silence, and the master must time out.
 */

export interface RtuSlaveOptions {
  unitId: number;
  profile: DeviceProfile;
  /** Seeds noise and episodes (default: random). */
  seed?: number;
}

export interface ModbusRtuSimulatorOptions {
  /** The serial device to open, e.g. the `B` end of `socat pty,link=A pty,link=B`. */
  path: string;
  baudRate?: number;
  /**
   * Silence (ms) that ends a request frame. ServerSerial's default is 30 ms, which caps a bus at ≈ 31
   * requests/s; a real slave uses 3.5 character times (≈ 4 ms at 9600 Bd). Default 4.
   */
  interval?: number;
  slaves: RtuSlaveOptions[];
  /** The simulated clock in Unix ms (default Date.now). */
  now?: () => number;
}

export interface RtuSlave extends SimulatedDevice {
  readonly unitId: number;
  /** A dead slave never answers (powered off, wire cut). */
  setDead(on: boolean): void;
  /** Requests this slave has answered (including exception answers). */
  readonly answered: number;
}

export interface ModbusRtuSimulator {
  readonly path: string;
  slave(unitId: number): RtuSlave;
  /** Every request seen on the bus, per unit id (answered or not). */
  requests(unitId: number): number;
  stop(): Promise<void>;
}

type Cb = (err: unknown, value?: number | number[]) => void;

export async function startModbusRtuSimulator(opts: ModbusRtuSimulatorOptions): Promise<ModbusRtuSimulator> {
  const now = opts.now ?? Date.now;
  const slaves = new Map<number, RtuSlave>();
  const seen = new Map<number, number>();
  const internals = new Map<number, { device: SimulatedDevice; isDead: () => boolean; countAnswer: () => void }>();
  for (const s of opts.slaves) {
    if (slaves.has(s.unitId)) throw new Error(`unit id ${s.unitId} is on the bus twice`);
    if (s.unitId < 1 || s.unitId > 247) throw new Error(`unit id ${s.unitId}: a serial slave has an id 1..247`);
    const device = createSimulatedDevice(s.profile, s.seed ?? Math.floor(Math.random() * 0x7fffffff), now);
    let dead = false;
    let answered = 0;
    internals.set(s.unitId, { device, isDead: () => dead, countAnswer: () => void answered++ });
    slaves.set(s.unitId, {
      ...device,
      unitId: s.unitId,
      setDead: (on) => void (dead = on),
      get answered() {
        return answered;
      },
      read(fn, addr, length) {
        if (dead) throw DEAD;
        answered++;
        return device.read(fn, addr, length);
      },
    });
  }

  // The callback form (4 arguments) lets a dead or absent slave stay silent: no callback, no answer.
  const serve = (fn: FunctionCode, addr: number, length: number, unitId: number, cb: Cb, single: boolean): void => {
    seen.set(unitId, (seen.get(unitId) ?? 0) + 1);
    const slave = slaves.get(unitId);
    if (!slave) return;
    let words: number[];
    try {
      words = slave.read(fn, addr, length);
    } catch (err) {
      if (err === DEAD) return;
      return cb(err);
    }
    cb(null, single ? words[0] : words);
  };
  // Functions 1 and 2 reach the vector bit by bit, all bits of one request in one synchronous loop: a request is
  // counted (and answered) once per tick.
  const bitRequestOpen = new Set<number>();
  const serveBit = (fn: BitFunction, addr: number, unitId: number, cb: (err: unknown, value?: boolean) => void): void => {
    const slave = internals.get(unitId);
    if (!bitRequestOpen.has(unitId)) {
      bitRequestOpen.add(unitId);
      queueMicrotask(() => bitRequestOpen.delete(unitId));
      seen.set(unitId, (seen.get(unitId) ?? 0) + 1);
      if (slave && !slave.isDead()) slave.countAnswer();
    }
    if (!slave || slave.isDead()) return;
    let bits: number[];
    try {
      bits = slave.device.read(fn, addr, 1);
    } catch (err) {
      return cb(err);
    }
    cb(null, bits[0] === 1);
  };
  const vector = {
    getCoil: (addr: number, unitId: number, cb: (err: unknown, value?: boolean) => void) => serveBit(1, addr, unitId, cb),
    getDiscreteInput: (addr: number, unitId: number, cb: (err: unknown, value?: boolean) => void) => serveBit(2, addr, unitId, cb),
    getHoldingRegister: (addr: number, unitId: number, cb: Cb) => serve(3, addr, 1, unitId, cb, true),
    getMultipleHoldingRegisters: (addr: number, length: number, unitId: number, cb: Cb) => serve(3, addr, length, unitId, cb, false),
    getInputRegister: (addr: number, unitId: number, cb: Cb) => serve(4, addr, 1, unitId, cb, true),
    getMultipleInputRegisters: (addr: number, length: number, unitId: number, cb: Cb) => serve(4, addr, length, unitId, cb, false),
  };

  const server = await new Promise<InstanceType<typeof Modbus.ServerSerial>>((resolve, reject) => {
    const srv = new Modbus.ServerSerial(vector as unknown as ConstructorParameters<typeof Modbus.ServerSerial>[0], {
      path: opts.path,
      baudRate: opts.baudRate ?? 9600,
      interval: opts.interval ?? 4,
      unitID: 255, // every unit id reaches the vector, which answers for the slaves on the bus
      openCallback: (err: Error | null) => {
        if (err) reject(new Error(`RTU simulator cannot open ${opts.path}: ${err.message}`));
      },
    } as ConstructorParameters<typeof Modbus.ServerSerial>[1]);
    srv.once('initialized', () => resolve(srv));
    srv.on('error', () => {});
  });

  let stopped: Promise<void> | undefined;
  return {
    path: opts.path,
    slave(unitId) {
      const s = slaves.get(unitId);
      if (!s) throw new Error(`no slave with unit id ${unitId} on ${opts.path}`);
      return s;
    },
    requests: (unitId) => seen.get(unitId) ?? 0,
    stop() {
      stopped ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return stopped;
    },
  };
}

const DEAD = Symbol('dead slave');
