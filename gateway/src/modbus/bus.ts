import Modbus from 'modbus-serial';
import type { BitFunction, FunctionCode } from '@envmon/hardware';
import type { Logger } from 'pino';

type Client = InstanceType<typeof Modbus.default>;

/**
 * One physical Modbus link — a serial port (RTU), a TCP connection (Modbus TCP) or a TCP connection to a serial
 * device server (RTU over TCP) — and the ONE transaction queue in front of it. Every device on the link, whatever
 * its unit id, goes through this queue: an RS-485 bus carries one request at a time, and modbus-serial has no
 * queue of its own (overlapping calls corrupt each other's answers). Each transaction carries its own unit id and
 * timeout, so a slow or dead slave costs the bus exactly its timeout and nothing more; the retry, backoff and
 * quarantine policy lives in the device poller, per device.
 *
 * The link is opened on the first transaction and reopened after it drops (port unplugged, TCP reset, or
 * `link_timeouts` consecutive timeouts on TCP, which is what a half-open connection looks like), with a backoff
 * (0.5 s doubling to 10 s) during which transactions fail at once instead of each waiting for a connect.
 *
 * `close()` is bounded: it fails the queued transactions and the one on the wire at once (`ModbusBusClosedError`),
 * and destroys the socket instead of ending it (modbus-serial's close() half-closes a TCP connection and waits for
 * the peer's FIN, which a device that accepted the connection but never answers never sends).
 */

export type BusTransport =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'rtu-over-tcp'; host: string; port: number }
  | { kind: 'serial'; path: string; baudRate: number; parity: 'none' | 'even' | 'odd'; dataBits: 7 | 8; stopBits: 1 | 2 };

export interface BusOptions {
  transport: BusTransport;
  log: Logger;
  /** Quiet time after each transaction before the next request (RTU inter-frame gap; default 5 ms on serial, 0 on TCP). */
  frameGapMs?: number;
  /** Connect timeout (default 2000 ms). */
  connectTimeoutMs?: number;
  /** TCP: consecutive timeouts (any unit) after which the connection is considered dead and reopened (default 3). */
  linkTimeouts?: number;
}

/** The device answered with a Modbus exception: the link is fine. */
export class ModbusExceptionError extends Error {
  constructor(readonly code: number, fn: number, start: number, count: number) {
    super(`Modbus exception ${code} (${EXCEPTIONS[code] ?? 'unknown'}) reading function ${fn} at ${start}+${count}`);
    this.name = 'ModbusExceptionError';
  }
}

/** No (valid) answer: timeout, CRC error, link down. Worth a retry. */
export class ModbusTransportError extends Error {
  constructor(message: string, readonly kind: 'timeout' | 'link' | 'frame') {
    super(message);
    this.name = 'ModbusTransportError';
  }
}

/** The bus was closed (shutdown, reload) while the transaction waited or was on the wire. */
export class ModbusBusClosedError extends ModbusTransportError {
  constructor(label: string) {
    super(`${label} is closed`, 'link');
    this.name = 'ModbusBusClosedError';
  }
}

export interface BusStats {
  transactions: number;
  timeouts: number;
  exceptions: number;
  linkErrors: number;
  reconnects: number;
  /** Transactions waiting right now. */
  queued: number;
}

export interface ModbusBus {
  readonly key: string;
  readonly label: string;
  /** Registers (functions 3, 4) as 16-bit words, or bits (functions 1 coils, 2 discrete inputs) as 0/1. */
  read(unitId: number, fn: FunctionCode | BitFunction, start: number, count: number, timeoutMs: number): Promise<number[]>;
  stats(): BusStats;
  isOpen(): boolean;
  close(): Promise<void>;
}

/** The identity of a physical link: devices whose transports have the same key share one bus. */
export function busKey(t: BusTransport): string {
  return t.kind === 'serial' ? `serial:${t.path}` : `${t.kind}:${t.host}:${t.port}`;
}

export function busLabel(t: BusTransport): string {
  return t.kind === 'serial' ? `${t.path} ${t.baudRate} ${t.dataBits}${t.parity[0]!.toUpperCase()}${t.stopBits}` : `${t.kind === 'tcp' ? 'modbus-tcp' : 'rtu-over-tcp'}://${t.host}:${t.port}`;
}

interface Job {
  unitId: number;
  fn: FunctionCode | BitFunction;
  start: number;
  count: number;
  timeoutMs: number;
  resolve: (words: number[]) => void;
  reject: (err: Error) => void;
}

export function createModbusBus(opts: BusOptions): ModbusBus {
  const t = opts.transport;
  const key = busKey(t);
  const label = busLabel(t);
  const log = opts.log.child({ bus: label });
  const frameGapMs = opts.frameGapMs ?? (t.kind === 'tcp' ? 0 : 5);
  const connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
  const linkTimeouts = opts.linkTimeouts ?? 3;

  const queue: Job[] = [];
  let running = false;
  let closed = false;
  let client: Client | undefined;
  let nextConnectAt = 0;
  let connectFailures = 0;
  let timeoutsInARow = 0;
  let wasOpen = false;
  let lastConnectError = '';
  const st = { transactions: 0, timeouts: 0, exceptions: 0, linkErrors: 0, reconnects: 0 };
  // The wait of the transaction on the wire (connect or answer; one at a time), failed at once by close(). Not a
  // race with one shared "closed" promise: each race would leave a reaction on it for the bus's lifetime.
  let cancelWait: ((err: Error) => void) | undefined;
  const abortable = <T>(p: Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new ModbusBusClosedError(label));
    return new Promise<T>((resolve, reject) => {
      cancelWait = reject;
      p.then(resolve, reject).finally(() => {
        if (cancelWait === reject) cancelWait = undefined;
      });
    });
  };

  async function open(): Promise<Client> {
    if (client?.isOpen) return client;
    dropClient();
    if (closed) throw new ModbusBusClosedError(label);
    if (Date.now() < nextConnectAt) throw new ModbusTransportError(`${label} is not open (${lastConnectError}; retrying in ${nextConnectAt - Date.now()} ms)`, 'link');
    const c = new Modbus.default();
    c.on('error', () => {}); // reported through the failing transaction instead
    try {
      const connecting = t.kind === 'serial'
        ? c.connectRTUBuffered(t.path, { baudRate: t.baudRate, parity: t.parity, dataBits: t.dataBits, stopBits: t.stopBits })
        : t.kind === 'tcp'
          ? c.connectTCP(t.host, { port: t.port })
          : c.connectTelnet(t.host, { port: t.port }); // modbus-serial "telnet" = raw RTU frames over TCP (its TcpRTUBuffered speaks MBAP)
      await abortable(withTimeout(connecting, connectTimeoutMs, `connect to ${label} timed out`));
    } catch (err) {
      destroyClient(c);
      if (closed) throw new ModbusBusClosedError(label);
      connectFailures++;
      nextConnectAt = Date.now() + Math.min(10_000, 500 * 2 ** Math.min(connectFailures - 1, 5));
      st.linkErrors++;
      lastConnectError = `cannot open: ${(err as Error).message}`;
      throw new ModbusTransportError(`cannot open ${label}: ${(err as Error).message}`, 'link');
    }
    if (wasOpen) st.reconnects++;
    wasOpen = true;
    connectFailures = 0;
    client = c;
    log.info('modbus link open');
    return c;
  }

  function dropClient(): void {
    const c = client;
    client = undefined;
    if (c) destroyClient(c);
  }

  /**
   * Closes a client without waiting for anyone: TCP sockets are destroyed (an end() waits for the peer's FIN, and a
   * socket still connecting would keep trying), a serial port is closed (bounded); modbus-serial's timers of the
   * transaction on the wire are cancelled, so nothing keeps the process alive.
   */
  function destroyClient(c: Client): Promise<void> {
    const m = c as Client & { _cancelPendingTransactions?: () => void; _port?: { destroy?: unknown } };
    m._cancelPendingTransactions?.();
    return new Promise<void>((r) => {
      if (t.kind !== 'serial' && typeof m._port?.destroy === 'function') c.destroy(() => r());
      else c.close(() => r());
    });
  }

  async function transact(j: Job): Promise<number[]> {
    const c = await open(); // its connect wait is abortable
    c.setID(j.unitId);
    c.setTimeout(j.timeoutMs);
    st.transactions++;
    try {
      if (j.fn === 1 || j.fn === 2) {
        // A bit answer is whole bytes: modbus-serial gives 8 booleans per byte, the padding bits at the end.
        const res = await abortable(j.fn === 1 ? c.readCoils(j.start, j.count) : c.readDiscreteInputs(j.start, j.count));
        timeoutsInARow = 0;
        if (res.data.length !== Math.ceil(j.count / 8) * 8) throw new ModbusTransportError(`answer has ${res.data.length / 8} bytes of bits, asked ${j.count} bits`, 'frame');
        return res.data.slice(0, j.count).map((b) => (b ? 1 : 0));
      }
      const res = await abortable(j.fn === 3 ? c.readHoldingRegisters(j.start, j.count) : c.readInputRegisters(j.start, j.count));
      timeoutsInARow = 0;
      if (res.data.length !== j.count) throw new ModbusTransportError(`answer has ${res.data.length} registers, asked ${j.count}`, 'frame');
      return res.data;
    } catch (err) {
      if (err instanceof ModbusTransportError) throw err; // includes ModbusBusClosedError
      if (closed) throw new ModbusBusClosedError(label);
      const e = err as { modbusCode?: number; message?: string; name?: string; errno?: string };
      if (typeof e.modbusCode === 'number') {
        timeoutsInARow = 0;
        st.exceptions++;
        throw new ModbusExceptionError(e.modbusCode, j.fn, j.start, j.count);
      }
      if (e.name === 'TransactionTimedOutError' || e.errno === 'ETIMEDOUT') {
        st.timeouts++;
        timeoutsInARow++;
        if (t.kind !== 'serial' && timeoutsInARow >= linkTimeouts) {
          // Every unit silent on a TCP link: the connection is more likely dead than all the devices.
          log.warn({ timeouts: timeoutsInARow }, 'no answers on this connection; reopening it');
          timeoutsInARow = 0;
          dropClient();
        }
        // A late answer may still be on its way: let it pass before the next request.
        await sleep(Math.max(frameGapMs, t.kind === 'serial' ? 20 : 0));
        throw new ModbusTransportError(`no answer within ${j.timeoutMs} ms`, 'timeout');
      }
      if (!c.isOpen) {
        st.linkErrors++;
        dropClient();
        throw new ModbusTransportError(`${label} dropped: ${e.message ?? String(err)}`, 'link');
      }
      throw new ModbusTransportError(e.message ?? String(err), /CRC|length/i.test(e.message ?? '') ? 'frame' : 'link');
    }
  }

  async function drain(): Promise<void> {
    if (running) return;
    running = true;
    while (queue.length > 0) {
      const j = queue.shift()!;
      if (closed) {
        j.reject(new ModbusBusClosedError(label));
        continue;
      }
      try {
        j.resolve(await transact(j));
      } catch (err) {
        j.reject(err as Error);
      }
      if (frameGapMs > 0 && !closed) await sleep(frameGapMs);
    }
    running = false;
  }

  return {
    key,
    label,
    read(unitId, fn, start, count, timeoutMs) {
      if (closed) return Promise.reject(new ModbusBusClosedError(label));
      return new Promise<number[]>((resolve, reject) => {
        queue.push({ unitId, fn, start, count, timeoutMs, resolve, reject });
        void drain();
      });
    },
    stats: () => ({ ...st, queued: queue.length }),
    isOpen: () => client?.isOpen === true,
    async close() {
      if (!closed) {
        closed = true;
        cancelWait?.(new ModbusBusClosedError(label));
        for (const j of queue.splice(0)) j.reject(new ModbusBusClosedError(label));
      }
      const c = client;
      client = undefined;
      // Every wait in a transaction is aborted now; what is left is at most a 20 ms post-timeout pause.
      await Promise.all([c ? destroyClient(c) : undefined, (async () => {
        while (running) await sleep(5);
      })()]);
    },
  };
}

const EXCEPTIONS: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'slave device failure',
  5: 'acknowledge',
  6: 'slave device busy',
  10: 'gateway path unavailable',
  11: 'gateway target failed to respond',
};

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
