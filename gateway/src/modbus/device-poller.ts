import Modbus from 'modbus-serial';
import { DeviceStatus, type DeviceState, type Reading } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { DeviceConfig } from '../config.ts';
import { planReads, readingsFromBlocks, type BlockResult } from './read-plan.ts';

type Client = InstanceType<typeof Modbus.default>;

export interface DevicePollerOptions {
  device: DeviceConfig;
  /** Receives every poll's readings (one per mapped parameter, all with the same time). */
  onReadings: (readings: Reading[]) => void;
  log: Logger;
  now?: () => number;
}

export interface DevicePoller {
  start(): void;
  /** Stops the schedule, waits for a poll in progress, closes the connection. */
  stop(): Promise<void>;
  /** One poll now (also used by the schedule); resolves with the readings it produced. */
  pollOnce(): Promise<Reading[]>;
  state(): DeviceState;
}

/**
 * Polls one Modbus TCP device on a fixed interval. A device that does not answer still produces a reading per
 * parameter (value null, status 02), so the gap is visible downstream and in TT10 files instead of silent.
 * The connection is reopened on the next poll after any transport failure.
 */
export function createDevicePoller(opts: DevicePollerOptions): DevicePoller {
  const { device, onReadings } = opts;
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ device: device.id });
  const blocks = planReads(device.profile);
  const where = `${device.transport.host}:${device.transport.port} unit ${device.unitId}`;

  let client: Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<Reading[]> | undefined;
  const st: DeviceState = { device: device.id, status: DeviceStatus.MEASURING, error: '', last_ok: 0 };

  async function connect(): Promise<Client> {
    if (client?.isOpen) return client;
    closeClient();
    const c = new Modbus.default();
    // modbus-serial has no connect timeout of its own; a silent host would otherwise hang the poll.
    await withTimeout(c.connectTCP(device.transport.host, { port: device.transport.port }), device.timeoutMs, `connect to ${where} timed out`).catch((err: unknown) => {
      c.close(() => {});
      throw err;
    });
    c.setID(device.unitId);
    c.setTimeout(device.timeoutMs);
    c.on('error', () => {}); // reported through the failing request instead
    client = c;
    log.info({ at: where }, 'modbus connected');
    return c;
  }

  function closeClient(): void {
    const c = client;
    client = undefined;
    if (c) c.close(() => {});
  }

  async function poll(): Promise<Reading[]> {
    const time = now(); // one timestamp for the whole poll: the readings describe one instant
    const results: BlockResult[] = [];
    let transportError: string | undefined;
    try {
      const c = await connect();
      for (const b of blocks) {
        if (transportError) {
          results.push({ ok: false, error: transportError });
          continue;
        }
        try {
          const res = b.fn === 3 ? await c.readHoldingRegisters(b.start, b.count) : await c.readInputRegisters(b.start, b.count);
          results.push({ ok: true, words: res.data });
        } catch (err) {
          const e = err as { modbusCode?: number; message?: string; name?: string };
          if (typeof e.modbusCode === 'number') {
            // The device answered: the link is fine, only this block is refused.
            results.push({ ok: false, error: `Modbus exception ${e.modbusCode} (${EXCEPTIONS[e.modbusCode] ?? 'unknown'}) reading function ${b.fn} at ${b.start}+${b.count}` });
          } else {
            transportError = `${e.name === 'TransactionTimedOutError' ? `no answer within ${device.timeoutMs} ms` : (e.message ?? String(err))} (${where})`;
            results.push({ ok: false, error: transportError });
          }
        }
      }
    } catch (err) {
      transportError = `${(err as Error).message} (${where})`;
      while (results.length < blocks.length) results.push({ ok: false, error: transportError });
    }
    // After a timeout a late answer could still arrive; a fresh connection is the only clean state.
    if (transportError) closeClient();

    const readings = readingsFromBlocks(device.profile, blocks, results, time);
    const failed = results.filter((r): r is { ok: false; error: string } => !r.ok);
    if (failed.length === 0) {
      if (st.error) log.info('device answers again');
      st.error = '';
      st.last_ok = time;
    } else if (failed[0]!.error !== st.error) {
      log.warn({ err: failed[0]!.error, failed_blocks: failed.length }, 'device read failed');
      st.error = failed[0]!.error;
    }
    st.status = readings.reduce<number>((s, r) => Math.max(s, r.status), 0) as DeviceStatus;
    onReadings(readings);
    return readings;
  }

  function pollOnce(): Promise<Reading[]> {
    // Never two polls at once on one device: modbus-serial has no request queue.
    inFlight ??= poll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  let lastSlot = -Infinity;
  function schedule(): void {
    if (!running) return;
    // Aligned to the interval (…:00, …:10, …:20 for 10 s), so stations' timestamps line up; a slow poll skips
    // a slot instead of bunching the next ones. Timers can fire a millisecond before the wall clock reaches
    // the slot, so the next slot is counted from the last one, never from the (possibly early) clock alone.
    const t = now();
    const next = Math.max(Math.ceil((t + 1) / device.pollIntervalMs) * device.pollIntervalMs, lastSlot + device.pollIntervalMs);
    lastSlot = next;
    timer = setTimeout(() => {
      void pollOnce()
        .catch((err: unknown) => log.error({ err }, 'poll failed'))
        .finally(schedule);
    }, next - t);
  }

  return {
    start() {
      if (running) return;
      running = true;
      log.info({ at: where, profile: device.profile.id, blocks: blocks.length, interval_ms: device.pollIntervalMs }, 'polling');
      schedule();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await inFlight?.catch(() => {});
      closeClient();
    },
    pollOnce,
    state: () => ({ ...st }),
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

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}
