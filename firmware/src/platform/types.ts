/**
 * The platform seam: everything the firmware needs from the board, as small interfaces. `espruino.ts`
 * implements them with Espruino's globals (Serial1, I2C1, OneWire, analogRead, E.*, require('net')); the
 * simulation in `sim/` implements them under Node for the tests. Device code imports only these types.
 */

export type Bytes = Uint8Array | number[];

/** A hardware UART. Bytes in and out; no framing. */
export interface Uart {
  /** Configures and opens the port. `dePin` drives an RS-485 transceiver's driver-enable while sending. */
  setup(baud: number, opts: UartOptions): void;
  write(data: Bytes): void;
  onData(cb: (data: Uint8Array) => void): void;
}
export interface UartOptions {
  rx?: string;
  tx?: string;
  dePin?: string;
}

/** An I2C master (Espruino's I2C is synchronous). */
export interface I2cBus {
  setup(opts: { scl?: string; sda?: string; bitrate?: number }): void;
  writeTo(addr: number, data: number[]): void;
  readFrom(addr: number, count: number): Uint8Array;
}

/** A 1-Wire bus master (Espruino's `OneWire`). ROM ids are 16 hex digits, family code first. */
export interface OneWireBus {
  /** Reset pulse; true when a device answered with a presence pulse. */
  reset(): boolean;
  select(rom: string): void;
  skip(): void;
  write(data: number | number[], power?: boolean): void;
  read(count: number): number[];
  search(): string[];
}

/** A TCP socket, as `require('net').connect` gives on Espruino. */
export interface Socket {
  write(data: Uint8Array): void;
  end(): void;
  onData(cb: (data: Uint8Array) => void): void;
  /** Called once, whether the peer closed, the connection failed or `end()` was called. */
  onClose(cb: () => void): void;
}

export interface Platform {
  /** Wall clock, Unix milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  setInterval(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  clearInterval(id: unknown): void;
  uart(name: string): Uart;
  i2c(name: string): I2cBus;
  oneWire(pin: string): OneWireBus;
  /** ADC reading of a pin, 0..1 of the reference voltage (Espruino's `analogRead`). */
  analogRead(pin: string): number;
  digitalWrite(pin: string, value: boolean): void;
  /** Hardware watchdog: after `enable`, the board resets unless `kick` is called within `timeoutS`. */
  watchdogEnable(timeoutS: number): void;
  watchdogKick(): void;
  /** Opens a TCP connection; `onConnect` runs when it is up. A failure closes the socket (never throws). */
  connect(host: string, port: number, onConnect: () => void): Socket;
  /** Small JSON values in flash (Espruino's `Storage`); undefined when absent. */
  readJSON(name: string): unknown;
  writeJSON(name: string, value: unknown): void;
  log(msg: string): void;
}
