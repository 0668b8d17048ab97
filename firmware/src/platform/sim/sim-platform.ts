import { connect as netConnect } from 'node:net';
import type { Bytes, I2cBus, OneWireBus, Platform, Socket, Uart, UartOptions } from '../types.ts';

/**
 * A simulated Espruino board for running the firmware under Node. Two clocks:
 *  - `virtual`: time stands still until the test calls `advance(ms)`, which runs due timers in order (fast,
 *    deterministic; sampling and windows over hours take milliseconds);
 *  - `real`: Node's timers and Date.now (for tests with real sockets and pseudo-terminals).
 * Buses are connected to simulated devices (./devices.ts) or, for a UART, to a real serial port (./serial-port.ts).
 * TCP always uses real sockets (node:net) on loopback.
 */
export interface SimI2cDevice {
  write(data: number[]): void;
  read(count: number): number[];
}
export interface SimOneWireDevice {
  rom: string;
  /** Bytes written after the ROM command; returns nothing. */
  command(byte: number): void;
  read(count: number): number[];
}

interface Timer {
  id: number;
  at: number;
  every: number;
  fn: () => void;
}

export class SimUart implements Uart {
  baud = 0;
  opts: UartOptions = {};
  written: number[] = [];
  /** Where written bytes go (a simulated device, or a test). */
  peer: (data: number[]) => void = () => undefined;
  private cbs: ((d: Uint8Array) => void)[] = [];
  setup(baud: number, opts: UartOptions): void {
    this.baud = baud;
    this.opts = opts;
  }
  write(data: Bytes): void {
    const arr: number[] = [];
    for (let i = 0; i < data.length; i++) arr.push(data[i]! & 0xff);
    this.written = this.written.concat(arr);
    this.peer(arr);
  }
  onData(cb: (d: Uint8Array) => void): void {
    this.cbs.push(cb);
  }
  /** Bytes arriving from the wire. */
  deliver(data: ArrayLike<number>): void {
    const u = Uint8Array.from(data as ArrayLike<number>);
    for (const cb of this.cbs) cb(u);
  }
}

export class SimI2c implements I2cBus {
  devices: Record<number, SimI2cDevice> = {};
  setup(): void {}
  writeTo(addr: number, data: number[]): void {
    const d = this.devices[addr];
    if (!d) throw new Error('I2C Error: Got NACK');
    d.write(data);
  }
  readFrom(addr: number, count: number): Uint8Array {
    const d = this.devices[addr];
    if (!d) throw new Error('I2C Error: Got NACK');
    return Uint8Array.from(d.read(count));
  }
}

export class SimOneWire implements OneWireBus {
  devices: SimOneWireDevice[] = [];
  /** A shorted bus: every read is 0, no presence pulse is seen as one (reset says true). */
  shorted = false;
  private selected: SimOneWireDevice[] = [];
  reset(): boolean {
    this.selected = [];
    return this.shorted || this.devices.length > 0;
  }
  select(rom: string): void {
    this.selected = this.devices.filter((d) => d.rom.toLowerCase() === rom.toLowerCase());
  }
  skip(): void {
    this.selected = this.devices.slice();
  }
  write(data: number | number[]): void {
    const bytes = typeof data === 'number' ? [data] : data;
    for (const b of bytes) for (const d of this.selected) d.command(b);
  }
  read(count: number): number[] {
    if (this.shorted) return new Array<number>(count).fill(0);
    // Open-drain bus: with nobody driving it (or several), the master reads 1s (wired-AND of the answers).
    if (this.selected.length === 0) return new Array<number>(count).fill(0xff);
    const answers = this.selected.map((d) => d.read(count));
    return answers[0]!.map((_, i) => answers.reduce((acc, a) => acc & a[i]!, 0xff));
  }
  search(): string[] {
    return this.devices.map((d) => d.rom);
  }
}

export interface SimPlatformOptions {
  clock: 'virtual' | 'real';
  /** Start of the virtual clock, Unix ms. */
  start?: number;
}

export class SimPlatform implements Platform {
  readonly uarts: Record<string, Uart> = {};
  readonly i2cs: Record<string, SimI2c> = {};
  readonly oneWires: Record<string, SimOneWire> = {};
  readonly analog: Record<string, () => number> = {};
  readonly pins: Record<string, boolean> = {};
  readonly storage: Record<string, string> = {};
  readonly logs: string[] = [];
  readonly sockets = new Set<{ destroy(): void }>();
  watchdog = { timeoutS: 0, lastKick: 0, resets: 0, kicks: 0 };
  /** Called when the watchdog would reset the board (virtual clock only). */
  onWatchdogReset: () => void = () => undefined;

  private t: number;
  private timers: Timer[] = [];
  private nextId = 1;
  private realIds = new Map<number, NodeJS.Timeout>();

  constructor(private readonly opts: SimPlatformOptions) {
    this.t = opts.start ?? Date.UTC(2026, 0, 1);
  }

  now(): number {
    return this.opts.clock === 'real' ? Date.now() : this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.addTimer(fn, ms, 0);
  }
  setInterval(fn: () => void, ms: number): unknown {
    return this.addTimer(fn, ms, Math.max(1, ms));
  }
  clearTimeout(id: unknown): void {
    this.removeTimer(id as number);
  }
  clearInterval(id: unknown): void {
    this.removeTimer(id as number);
  }

  private addTimer(fn: () => void, ms: number, every: number): number {
    const id = this.nextId++;
    if (this.opts.clock === 'real') {
      const h = every ? setInterval(fn, every) : setTimeout(() => {
        this.realIds.delete(id);
        fn();
      }, ms);
      this.realIds.set(id, h);
    } else {
      this.timers.push({ id, at: this.t + Math.max(0, ms), every, fn });
    }
    return id;
  }

  private removeTimer(id: number): void {
    const h = this.realIds.get(id);
    if (h) {
      clearTimeout(h);
      clearInterval(h);
      this.realIds.delete(id);
    }
    this.timers = this.timers.filter((x) => x.id !== id);
  }

  /** Virtual clock: runs every timer due within `ms`, in time order, and checks the watchdog as time passes. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const x of this.timers) if (x.at <= end && (!next || x.at < next.at)) next = x;
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      this.checkWatchdog();
      if (next.every) next.at += next.every;
      else this.timers = this.timers.filter((x) => x !== next);
      next.fn();
    }
    this.t = end;
    this.checkWatchdog();
  }

  private checkWatchdog(): void {
    const w = this.watchdog;
    if (w.timeoutS > 0 && this.t - w.lastKick > w.timeoutS * 1000) {
      w.resets++;
      w.lastKick = this.t; // the board restarts; count once per expiry
      this.onWatchdogReset();
    }
  }

  /** Cancels every timer and socket (end of a test). */
  shutdown(): void {
    for (const id of [...this.realIds.keys()]) this.removeTimer(id);
    this.timers = [];
    for (const s of this.sockets) s.destroy();
  }

  uart(name: string): Uart {
    return (this.uarts[name] ??= new SimUart());
  }
  i2c(name: string): I2cBus {
    return (this.i2cs[name] ??= new SimI2c());
  }
  oneWire(pin: string): OneWireBus {
    return (this.oneWires[pin] ??= new SimOneWire());
  }
  analogRead(pin: string): number {
    const f = this.analog[pin];
    return f ? f() : 0;
  }
  digitalWrite(pin: string, value: boolean): void {
    this.pins[pin] = value;
  }
  watchdogEnable(timeoutS: number): void {
    this.watchdog.timeoutS = timeoutS;
    this.watchdog.lastKick = this.now();
  }
  watchdogKick(): void {
    this.watchdog.lastKick = this.now();
    this.watchdog.kicks++;
  }

  connect(host: string, port: number, onConnect: () => void): Socket {
    const s = netConnect({ host, port }, onConnect);
    this.sockets.add(s);
    let closeCb: () => void = () => undefined;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      this.sockets.delete(s);
      closeCb();
    };
    s.on('error', () => s.destroy());
    s.on('close', close);
    return {
      write: (d: Uint8Array) => {
        if (!closed) s.write(d);
      },
      end: () => {
        s.destroy();
      },
      onData: (cb) => {
        s.on('data', (b: Buffer) => cb(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
      },
      onClose: (cb) => {
        closeCb = cb;
      },
    };
  }

  readJSON(name: string): unknown {
    const s = this.storage[name];
    return s === undefined ? undefined : JSON.parse(s);
  }
  writeJSON(name: string, value: unknown): void {
    this.storage[name] = JSON.stringify(value);
  }
  log(msg: string): void {
    this.logs.push(msg);
  }
}
