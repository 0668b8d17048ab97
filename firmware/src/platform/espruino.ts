import type { Bytes, I2cBus, OneWireBus, Platform, Socket, Uart, UartOptions } from './types.ts';

/**
 * The platform on a real Espruino board. Pins are named as in the board's reference ("D16", "A0"); UARTs and
 * I2C buses by their global names ("Serial2", "I2C1"). Espruino hands serial and socket data over as strings
 * of byte values; they are turned into Uint8Array at this seam so the firmware sees bytes everywhere.
 */
function pin(name: string | undefined): unknown {
  return name ? Pin(name) : undefined;
}

function toBinaryString(data: Bytes): string {
  return E.toString(data);
}

function uart(name: string): Uart {
  const s = global[name] as EspruinoSerial;
  let de: unknown;
  let baudRate = 9600;
  let idle: unknown = null;
  return {
    setup(baud: number, opts: UartOptions) {
      baudRate = baud;
      s.setup(baud, { rx: pin(opts.rx), tx: pin(opts.tx) });
      if (opts.dePin) {
        de = pin(opts.dePin);
        digitalWrite(de, 0);
      }
    },
    write(data: Bytes) {
      if (de) {
        // RS-485 half duplex: drive the bus while the bytes leave, then release it (10 bits per byte).
        if (idle !== null) clearTimeout(idle as number);
        digitalWrite(de, 1);
        s.write(data);
        idle = setTimeout(() => {
          idle = null;
          digitalWrite(de, 0);
        }, Math.ceil((data.length * 10 * 1000) / baudRate) + 1);
      } else s.write(data);
    },
    onData(cb: (d: Uint8Array) => void) {
      s.on('data', (d: string) => cb(E.toUint8Array(d)));
    },
  };
}

export function espruinoPlatform(): Platform {
  const storage = espruinoRequire('Storage');
  return {
    now: () => Date.now(),
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    setInterval: (fn: () => void, ms: number) => setInterval(fn, ms),
    clearTimeout: (id: unknown) => clearTimeout(id as number),
    clearInterval: (id: unknown) => clearInterval(id as number),
    uart,
    i2c(name: string): I2cBus {
      const b = global[name] as EspruinoI2C;
      return {
        setup: (o) => b.setup({ scl: pin(o.scl), sda: pin(o.sda), bitrate: o.bitrate }),
        writeTo: (a, d) => b.writeTo(a, d),
        readFrom: (a, n) => b.readFrom(a, n),
      };
    },
    oneWire(p: string): OneWireBus {
      const ow = new OneWire(pin(p));
      return {
        reset: () => ow.reset(),
        select: (rom: string) => ow.select(rom),
        skip: () => ow.skip(),
        write: (d: number | number[], power?: boolean) => ow.write(d, power),
        read: (n: number) => ow.read(n),
        search: () => ow.search(),
      };
    },
    analogRead: (p: string) => analogRead(pin(p)),
    digitalWrite: (p: string, v: boolean) => digitalWrite(pin(p), v),
    watchdogEnable: (t: number) => E.enableWatchdog(t, false),
    watchdogKick: () => E.kickWatchdog(),
    connect(host: string, port: number, onConnect: () => void): Socket {
      let dataCb: (d: Uint8Array) => void = () => undefined;
      let closeCb: () => void = () => undefined;
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        closeCb();
      };
      let sock: EspruinoSocket | null = null;
      try {
        sock = espruinoRequire('net').connect({ host, port }, onConnect) as EspruinoSocket;
        sock.on('data', (d: string) => dataCb(E.toUint8Array(d)));
        sock.on('close', close);
        sock.on('error', close);
      } catch (e) {
        // Espruino throws synchronously when the port is closed ("Unable to create socket").
        setTimeout(close, 0);
      }
      return {
        write: (d: Uint8Array) => {
          if (sock && !closed) sock.write(toBinaryString(d));
        },
        end: () => {
          if (sock) sock.end();
          close();
        },
        onData: (cb) => {
          dataCb = cb;
        },
        onClose: (cb) => {
          closeCb = cb;
        },
      };
    },
    readJSON: (name: string) => storage.readJSON(name, true),
    writeJSON: (name: string, v: unknown) => storage.writeJSON(name, v),
    log: (msg: string) => print(msg),
  };
}
