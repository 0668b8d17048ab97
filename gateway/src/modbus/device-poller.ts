import { DeviceStatus, type DeviceState, type Reading } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { ModbusDeviceConfig } from '../config.ts';
import { ModbusBusClosedError, ModbusExceptionError, ModbusTransportError, type ModbusBus } from './bus.ts';
import { planReads, readingsFromBlocks, type BlockResult, type ReadBlock } from './read-plan.ts';
import { profileParams } from '@envmon/hardware';
import { createSchedule, type Schedule } from '../schedule.ts';

export interface DevicePollerOptions {
  device: ModbusDeviceConfig;
  /** The device's physical link, shared with every other device on it (one transaction queue). */
  bus: ModbusBus;
  /** Receives every poll's readings (one per mapped parameter, all with the same time). */
  onReadings: (readings: Reading[]) => void;
  log: Logger;
  now?: () => number;
}

export interface DevicePoller {
  readonly id: string;
  start(): void;
  /**
   * Stops the schedule and waits for a poll in progress. The bus is closed by its owner, which does so at the
   * same time: a poll waiting on the bus then ends at once, without readings.
   */
  stop(): Promise<void>;
  /** One poll now (also used by the schedule); resolves with the readings it produced. */
  pollOnce(): Promise<Reading[]>;
  state(): DeviceState;
  params(): string[];
}

/**
 * Polls one Modbus device through its bus on a fixed, clock-aligned interval. Every poll yields one reading per
 * parameter — a device that does not answer gives `null` with status 02 — so a gap is visible downstream and in
 * TT10 files instead of silent.
 *
 * Failure policy, per device (so one dead slave never stalls the others on its bus):
 * - a request without an answer (timeout, CRC) is retried `retries` times; a Modbus exception is an answer and
 *   is not retried; after a transport failure the rest of the poll's blocks are not even tried;
 * - after `quarantine_after` failed polls in a row the device is quarantined: its polls produce 02 readings
 *   without touching the bus, until a backoff (quarantine_min_ms doubling to quarantine_max_ms) ends; then a
 *   single probe (no retries) decides whether it is back. A dead slave thus costs the bus one timeout per backoff.
 */
export function createDevicePoller(opts: DevicePollerOptions): DevicePoller {
  const { device, bus, onReadings } = opts;
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ device: device.id });
  const blocks = planReads(device.profile, device.maxGap, device.maxBitGap ?? device.profile.maxBitGap);
  const where = `${bus.label} unit ${device.unitId}`;

  const st: DeviceState = { device: device.id, status: DeviceStatus.MEASURING, error: '', last_ok: 0, polls: 0, errors: 0, timeouts: 0, quarantined: false };
  let failuresInARow = 0;
  let quarantineLevel = 0;
  let quarantinedUntil = 0;
  let stopping = false;

  async function readBlock(fn: ReadBlock['fn'], start: number, count: number, retries: number): Promise<BlockResult & { transport?: boolean; closed?: boolean }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return { ok: true, words: await bus.read(device.unitId, fn, start, count, device.timeoutMs) };
      } catch (err) {
        if (err instanceof ModbusExceptionError) return { ok: false, error: err.message };
        if (err instanceof ModbusBusClosedError) return { ok: false, error: err.message, transport: true, closed: true };
        if (err instanceof ModbusTransportError && err.kind === 'timeout') st.timeouts!++;
        if (attempt < retries && !stopping) continue;
        return { ok: false, error: `${(err as Error).message} (${where})`, transport: true };
      }
    }
  }

  async function poll(): Promise<Reading[]> {
    const time = now(); // one timestamp for the whole poll: the readings describe one instant
    st.polls!++;
    if (time < quarantinedUntil) {
      const error = `quarantined until ${new Date(quarantinedUntil).toISOString()} after ${failuresInARow} failed polls: ${st.error}`;
      const readings = readingsFromBlocks(device.profile, blocks, blocks.map(() => ({ ok: false, error })), time);
      st.status = DeviceStatus.DEVICE_ERROR;
      st.errors!++;
      onReadings(readings);
      return readings;
    }
    const probing = quarantineLevel > 0;
    const results: BlockResult[] = [];
    let transportError: string | undefined;
    for (const b of blocks) {
      if (transportError) {
        results.push({ ok: false, error: transportError });
        continue;
      }
      const r = await readBlock(b.fn, b.start, b.count, probing ? 0 : device.retries);
      // The bus was closed under this poll (shutdown, reload): it says nothing about the device, so no readings.
      if (!r.ok && r.closed) return [];
      if (!r.ok && r.transport) transportError = r.error;
      results.push(r.ok ? { ok: true, words: r.words } : { ok: false, error: r.error });
    }

    const readings = readingsFromBlocks(device.profile, blocks, results, time);
    const failed = results.filter((r): r is { ok: false; error: string } => !r.ok);
    if (failed.length > 0) st.errors!++;
    if (transportError) {
      failuresInARow++;
      if (failuresInARow >= device.quarantineAfter) {
        quarantineLevel++;
        const backoff = Math.min(device.quarantineMaxMs, device.quarantineMinMs * 2 ** Math.min(quarantineLevel - 1, 20));
        quarantinedUntil = time + backoff;
        st.quarantined = true;
        log.warn({ err: transportError, failed_polls: failuresInARow, backoff_ms: backoff }, 'device quarantined');
      }
    } else {
      if (quarantineLevel > 0) log.info({ after_polls: failuresInARow }, 'device left quarantine');
      failuresInARow = 0;
      quarantineLevel = 0;
      quarantinedUntil = 0;
      st.quarantined = false;
    }
    if (failed.length === 0) {
      if (st.error) log.info('device answers again');
      st.error = '';
      st.last_ok = time;
    } else if (failed[0]!.error !== st.error) {
      if (!st.quarantined) log.warn({ err: failed[0]!.error, failed_blocks: failed.length }, 'device read failed');
      st.error = failed[0]!.error;
    }
    st.status = readings.reduce<number>((s, r) => Math.max(s, r.status), 0) as DeviceStatus;
    onReadings(readings);
    return readings;
  }

  const schedule: Schedule = createSchedule({ intervalMs: device.pollIntervalMs, now, run: poll, log });

  return {
    id: device.id,
    start() {
      stopping = false;
      log.info({ at: where, profile: device.profile.id, blocks: blocks.length, interval_ms: device.pollIntervalMs }, 'polling');
      schedule.start();
    },
    async stop() {
      stopping = true;
      await schedule.stop();
    },
    pollOnce: () => schedule.runOnce(),
    state: () => ({ ...st }),
    params: () => profileParams(device.profile),
  };
}
