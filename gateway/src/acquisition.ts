import type { Reading } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { GatewayConfig, ModbusDeviceConfig } from './config.ts';
import { busKey, createModbusBus, type BusStats, type ModbusBus } from './modbus/bus.ts';
import { createDevicePoller, type DevicePoller } from './modbus/device-poller.ts';

/**
 * The acquisition side of a gateway for one config: one bus (one transaction queue) per physical Modbus link,
 * shared by every device on it, and one poller per device. Replaced as a whole when the config is reloaded.
 */
export interface Acquisition {
  pollers: DevicePoller[];
  buses: ModbusBus[];
  start(): void;
  stop(): Promise<void>;
  busStats(): (BusStats & { bus: string })[];
}

export interface AcquisitionOptions {
  config: GatewayConfig;
  log: Logger;
  now?: () => number;
  onReadings: (readings: Reading[]) => void;
  /** Firmata io per device id (tests pass johnny-five's mock-firmata board); default: firmata-io on the port. */
  firmataIo?: (deviceId: string) => unknown;
}

/**
 * Builds the acquisition. The serial-sensor and Firmata drivers (serialport parsers, johnny-five) are loaded only
 * when the config has such a device: a Modbus-only gateway does not carry them in memory.
 */
export async function createAcquisition(o: AcquisitionOptions): Promise<Acquisition> {
  const drivers = new Set(o.config.devices.map((d) => d.driver));
  const serial = drivers.has('ascii') || drivers.has('pms') ? await import('./serial/serial-sensor.ts') : undefined;
  const firmata = drivers.has('firmata') ? await import('./firmata/firmata-board.ts') : undefined;
  const buses = new Map<string, ModbusBus>();
  const busFor = (d: ModbusDeviceConfig): ModbusBus => {
    const key = busKey(d.transport);
    let bus = buses.get(key);
    if (!bus) {
      bus = createModbusBus({ transport: d.transport, log: o.log, ...(d.frameGapMs !== undefined ? { frameGapMs: d.frameGapMs } : {}) });
      buses.set(key, bus);
    }
    return bus;
  };
  const common = { log: o.log, onReadings: o.onReadings, ...(o.now ? { now: o.now } : {}) };
  const pollers = o.config.devices.map((device): DevicePoller => {
    switch (device.driver) {
      case 'modbus':
        return createDevicePoller({ ...common, device, bus: busFor(device) });
      case 'ascii':
      case 'pms':
        return serial!.createSerialSensorPoller({ ...common, device });
      case 'firmata': {
        const io = o.firmataIo?.(device.id);
        return firmata!.createFirmataPoller({ ...common, device, ...(io !== undefined ? { io } : {}) });
      }
    }
  });
  return {
    pollers,
    buses: [...buses.values()],
    start() {
      for (const p of pollers) p.start();
    },
    async stop() {
      // Pollers and buses together: stopping a poller ends its schedule at once but waits for a poll in progress,
      // and closing a bus is what ends that poll (its transaction is failed, the socket destroyed) instead of it
      // waiting out a silent device's timeout × retries, or forever for a TCP peer that never closes.
      await Promise.all([...pollers.map((p) => p.stop()), ...[...buses.values()].map((b) => b.close())]);
    },
    busStats: () => [...buses.values()].map((b) => ({ bus: b.label, ...b.stats() })),
  };
}
