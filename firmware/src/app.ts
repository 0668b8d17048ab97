import type { NodeConfig } from './config.ts';
import { RtuSlave, rtuGapMs } from './modbus/rtu-slave.ts';
import { RegisterMap } from './modbus/register-map.ts';
import { MqttClient } from './mqtt/client.ts';
import { Publisher } from './mqtt/publisher.ts';
import { SLOT_COUNT, startNode, type Report, type SensorNode } from './node/node.ts';
import { Ring } from './node/ring.ts';
import { SeqCounter } from './node/seq.ts';
import type { Platform } from './platform/types.ts';

/** The whole node: sensors and windows, plus the configured output (Modbus RTU slave or MQTT). */
export interface App {
  node: SensorNode;
  registers?: RegisterMap;
  slave?: RtuSlave;
  ring?: Ring;
  client?: MqttClient;
  publisher?: Publisher;
  stop(): void;
}

export function startApp(p: Platform, cfg: NodeConfig): App {
  const node = startNode(p, cfg);
  const app: App = { node, stop: () => node.stop() };
  const started = p.now();

  if (cfg.mode === 'modbus' && cfg.modbus) {
    const m = cfg.modbus;
    const fitted: boolean[] = [];
    for (let i = 0; i < SLOT_COUNT; i++) fitted.push(!!node.channels[i]);
    const regs = new RegisterMap(fitted);
    const uart = p.uart(m.uart);
    uart.setup(m.baud, { rx: m.rx, tx: m.tx, dePin: m.dePin });
    const slave = new RtuSlave(
      m.unitId,
      (fn, start, count) => {
        regs.setDiagnostics(Math.floor((p.now() - started) / 1000), node.stats.windows, node.stats.pmsErrors);
        return regs.read(fn, start, count);
      },
      (bytes) => uart.write(bytes),
      (fn, ms) => p.setTimeout(fn, ms),
      (id) => p.clearTimeout(id),
      rtuGapMs(m.baud),
    );
    uart.onData((d) => slave.push(d));
    node.onReport = (reports: Report[]) => {
      for (let i = 0; i < reports.length; i++) regs.update(reports[i]!);
    };
    app.registers = regs;
    app.slave = slave;
  } else if (cfg.mode === 'mqtt' && cfg.mqtt) {
    const q = cfg.mqtt;
    const ring = new Ring(cfg.ringBytes);
    const params: string[] = [];
    for (let i = 0; i < SLOT_COUNT; i++) params.push(node.channels[i] ? node.channels[i]!.param : '');
    const client = new MqttClient(p, {
      host: q.host,
      port: q.port,
      clientId: cfg.station,
      username: q.username || cfg.station,
      password: q.password,
      keepaliveS: q.keepaliveS,
    });
    const pub = new Publisher(p, client, ring, new SeqCounter(p, 32), cfg.station, params, q.batchMax, q.periodS || 0);
    client.onConnect = () => {
      p.log('mqtt connected');
      pub.pump();
    };
    node.onReport = (reports: Report[]) => {
      for (let i = 0; i < reports.length; i++) {
        const r = reports[i]!;
        ring.push({ time: Math.floor(r.time / 1000), value: r.value === null ? NaN : r.value, slot: r.slot, status: r.status, qc: r.qc });
      }
      pub.pump();
    };
    client.start();
    app.ring = ring;
    app.client = client;
    app.publisher = pub;
    app.stop = () => {
      node.stop();
      client.end();
    };
  }
  return app;
}
