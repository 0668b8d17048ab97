import { SerialPort } from 'serialport';

/**
 * Serial instruments that are not Modbus slaves, on one end of a pty pair (tests, demos):
 *
 * - `startPmsSimulator`: a Plantower PMS5003/PMS7003 in active mode, one 32-byte frame (0x42 0x4d, length 28,
 *   13 big-endian words, check code = sum of the preceding bytes) every `intervalMs` (the sensor sends about one
 *   per second). `corrupt()` makes the next frame fail its check code; `noise(bytes)` injects line garbage.
 * - `startLineSensor`: a line-based ASCII instrument: it writes `line()` every `intervalMs` (streaming), or in
 *   answer to each `request` it receives (polled).
 */

export interface PmsValues {
  pm1: number;
  pm25: number;
  pm10: number;
}

export interface PmsSimulator {
  set(values: PmsValues): void;
  /** The next frame goes out with a wrong check code. */
  corrupt(): void;
  /** Writes raw bytes (garbage between frames). */
  noise(bytes: Buffer): void;
  /** Stops sending (sensor unplugged from power, port still open). */
  pause(on: boolean): void;
  readonly sent: number;
  stop(): Promise<void>;
}

export async function startPmsSimulator(o: { path: string; intervalMs?: number; values?: PmsValues }): Promise<PmsSimulator> {
  const port = await openPort(o.path, 9600);
  let v: PmsValues = o.values ?? { pm1: 10, pm25: 20, pm10: 30 };
  let bad = false;
  let paused = false;
  let sent = 0;
  const frame = (): Buffer => {
    const b = Buffer.alloc(32);
    b.writeUInt16BE(0x424d, 0);
    b.writeUInt16BE(28, 2);
    // CF=1 values first, then the "atmospheric environment" ones; the simulator reports CF=1 as 1.1 × atmospheric.
    const words = [v.pm1 * 1.1, v.pm25 * 1.1, v.pm10 * 1.1, v.pm1, v.pm25, v.pm10, 900, 300, 60, 10, 2, 1, 0x9100].map((x) => Math.round(x));
    words.forEach((w, i) => b.writeUInt16BE(w, 4 + 2 * i));
    let sum = 0;
    for (let i = 0; i < 30; i++) sum += b[i]!;
    b.writeUInt16BE((sum + (bad ? 1 : 0)) & 0xffff, 30);
    bad = false;
    return b;
  };
  const timer = setInterval(() => {
    if (paused) return;
    port.write(frame());
    sent++;
  }, o.intervalMs ?? 1000);
  return {
    set: (values) => void (v = values),
    corrupt: () => void (bad = true),
    noise: (bytes) => void port.write(bytes),
    pause: (on) => void (paused = on),
    get sent() {
      return sent;
    },
    async stop() {
      clearInterval(timer);
      await closePort(port);
    },
  };
}

export interface LineSensor {
  readonly requests: number;
  stop(): Promise<void>;
}

export async function startLineSensor(o: { path: string; line: () => string; intervalMs?: number; request?: string; baudRate?: number }): Promise<LineSensor> {
  const port = await openPort(o.path, o.baudRate ?? 9600);
  let requests = 0;
  let timer: NodeJS.Timeout | undefined;
  if (o.request !== undefined) {
    let buf = '';
    port.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf(o.request!)) >= 0) {
        buf = buf.slice(i + o.request!.length);
        requests++;
        port.write(`${o.line()}\r\n`);
      }
    });
  } else {
    timer = setInterval(() => port.write(`${o.line()}\r\n`), o.intervalMs ?? 1000);
  }
  return {
    get requests() {
      return requests;
    },
    async stop() {
      clearInterval(timer);
      await closePort(port);
    },
  };
}

function openPort(path: string, baudRate: number): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const p = new SerialPort({ path, baudRate, autoOpen: false });
    p.open((err) => (err ? reject(new Error(`cannot open ${path}: ${err.message}`)) : resolve(p)));
    p.on('error', () => {});
  });
}

function closePort(p: SerialPort): Promise<void> {
  return new Promise((resolve) => (p.isOpen ? p.close(() => resolve()) : resolve()));
}
