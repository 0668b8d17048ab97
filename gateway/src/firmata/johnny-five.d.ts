// Minimal types for the parts of johnny-five 2.1 and firmata-io 2.3 the gateway uses (neither ships types).
declare module 'johnny-five' {
  import { EventEmitter } from 'node:events';
  export class Board extends EventEmitter {
    constructor(opts: { io?: unknown; port?: unknown; repl?: boolean; debug?: boolean; sigint?: boolean; timeout?: number });
    /** Every Board ever made (johnny-five's module-level cache; a discarded board must be taken out of it). */
    static readonly cache: Board[];
    isReady: boolean;
    /** The connect → ready timer. */
    timer: NodeJS.Timeout | null;
    io: unknown;
  }
  export class Sensor extends EventEmitter {
    constructor(opts: { pin: string | number; board: Board; freq?: number; type?: 'analog' | 'digital' });
    readonly value: number | null;
    readonly raw: number | null;
    disable(): void;
  }
  const five: { Board: typeof Board; Sensor: typeof Sensor };
  export default five;
}

declare module 'firmata-io' {
  function bind(transport: unknown): new (port: unknown, opts?: Record<string, unknown>, cb?: (err?: Error) => void) => unknown;
  export default bind;
}

declare module 'mock-firmata' {
  import { EventEmitter } from 'node:events';
  class MockFirmata extends EventEmitter {
    constructor(opts?: Record<string, unknown>);
    analogRead(pin: number, cb: (value: number) => void): void;
    digitalRead(pin: number, cb: (value: number) => void): void;
  }
  const m: { Firmata: typeof MockFirmata };
  export default m;
}
