import { SerialPort } from 'serialport';
import type { Bytes, Uart, UartOptions } from '../types.ts';

/** A UART of the simulated board wired to a real serial device (a socat pseudo-terminal in the tests). */
export class SerialPortUart implements Uart {
  private port: SerialPort | undefined;
  private cbs: ((d: Uint8Array) => void)[] = [];
  constructor(private readonly path: string) {}

  setup(baud: number, _opts: UartOptions): void {
    this.port = new SerialPort({ path: this.path, baudRate: baud, autoOpen: true });
    this.port.on('data', (b: Buffer) => {
      const u = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      for (const cb of this.cbs) cb(u);
    });
    this.port.on('error', () => undefined);
  }
  write(data: Bytes): void {
    this.port?.write(Buffer.from(data as ArrayLike<number> as number[]));
  }
  onData(cb: (d: Uint8Array) => void): void {
    this.cbs.push(cb);
  }
  close(): Promise<void> {
    const p = this.port;
    if (!p || !p.isOpen) return Promise.resolve();
    return new Promise((resolve) => p.close(() => resolve()));
  }
}
