/* The few Espruino globals the platform implementation uses (https://www.espruino.com/Reference). */
interface EspruinoSerial {
  setup(baud: number, opts?: { rx?: unknown; tx?: unknown }): void;
  write(data: unknown): void;
  on(ev: 'data', cb: (data: string) => void): void;
}
interface EspruinoI2C {
  setup(opts: { scl?: unknown; sda?: unknown; bitrate?: number }): void;
  writeTo(addr: number, data: number[]): void;
  readFrom(addr: number, count: number): Uint8Array;
}
interface EspruinoSocket {
  write(data: string): void;
  end(): void;
  on(ev: 'data', cb: (data: string) => void): void;
  on(ev: 'close' | 'error' | 'end', cb: (e?: unknown) => void): void;
}
declare class OneWire {
  constructor(pin: unknown);
  reset(): boolean;
  select(rom: string): void;
  skip(): void;
  write(data: number | number[], power?: boolean): void;
  read(count: number): number[];
  search(): string[];
}
declare const E: {
  enableWatchdog(timeoutS: number, autoKick: boolean): void;
  kickWatchdog(): void;
  toUint8Array(s: string): Uint8Array;
  toString(b: ArrayLike<number>): string;
};
declare function Pin(name: string): unknown;
declare function analogRead(pin: unknown): number;
declare function digitalWrite(pin: unknown, v: boolean | number): void;
/** Defined by the build's banner: `var espruinoRequire = function (name) { return require(name); };` */
declare function espruinoRequire(name: string): any;
declare const global: { [name: string]: unknown };
declare function print(msg: string): void;
declare function setTimeout(fn: () => void, ms: number): number;
declare function setInterval(fn: () => void, ms: number): number;
declare function clearTimeout(id: number): void;
declare function clearInterval(id: number): void;
