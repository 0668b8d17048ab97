import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import { Aedes } from 'aedes';
import { decodeBatch, type Batch } from '@envmon/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/app.ts';
import { MqttClient, connectPacket, encodeLength, publishPacket } from '../src/mqtt/client.ts';
import { msText } from '../src/mqtt/publisher.ts';
import { SimPlatform } from '../src/platform/sim/sim-platform.ts';
import { simRig, type SimRig } from '../src/platform/sim/rig.ts';
import { hexBytes } from '../src/util/bytes.ts';

interface Broker {
  port: number;
  published: { topic: string; payload: Buffer; clientId: string }[];
  pings: number;
  connects: string[];
  kick(): void;
  stop(): Promise<void>;
}

/** A real Aedes broker on loopback that checks credentials and records what it acknowledges. */
async function startBroker(port = 0, opts: { password?: string; ackDelayMs?: number } = {}): Promise<Broker> {
  const published: Broker['published'] = [];
  const connects: string[] = [];
  const b = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const ok = !opts.password || (username === client.id && password?.toString() === opts.password);
      done(null, ok);
    },
    authorizePublish: (client, packet, done) => {
      published.push({ topic: packet.topic, payload: Buffer.from(packet.payload), clientId: client?.id ?? '' });
      if (opts.ackDelayMs) setTimeout(() => done(null), opts.ackDelayMs);
      else done(null);
    },
  });
  const api: Broker = { port: 0, published, pings: 0, connects, kick: () => undefined, stop: async () => undefined };
  b.on('ping', () => api.pings++);
  b.on('client', (c) => connects.push(c.id));
  const sockets = new Set<NetSocket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    b.handle(s);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  api.port = (server.address() as { port: number }).port;
  api.kick = () => {
    for (const s of sockets) s.destroy();
  };
  api.stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => b.close(() => r()));
  };
  return api;
}

async function until(what: string, f: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('MQTT 3.1.1 packets', () => {
  it('encodes the remaining length as in §2.2.3 Table 2.4', () => {
    expect(encodeLength(0)).toEqual([0x00]);
    expect(encodeLength(127)).toEqual([0x7f]);
    expect(encodeLength(128)).toEqual([0x80, 0x01]);
    expect(encodeLength(16_383)).toEqual([0xff, 0x7f]);
    expect(encodeLength(16_384)).toEqual([0x80, 0x80, 0x01]);
    expect(encodeLength(2_097_151)).toEqual([0xff, 0xff, 0x7f]);
    expect(encodeLength(268_435_455)).toEqual([0xff, 0xff, 0xff, 0x7f]);
  });
  it('builds CONNECT (§3.1) and PUBLISH QoS 1 (§3.3) byte for byte', () => {
    expect([...connectPacket({ host: '', port: 0, clientId: 'N1', username: 'u', password: 'p', keepaliveS: 60 })]).toEqual(
      hexBytes('10 14 00 04 4d 51 54 54 04 c2 00 3c 00 02 4e 31 00 01 75 00 01 70'),
    );
    expect([...publishPacket('a/b', 'hi', 1, 10, false, false)]).toEqual(hexBytes('32 09 00 03 61 2f 62 00 0a 68 69'));
  });
  it('writes Unix ms exactly (Espruino prints 13-digit doubles rounded)', () => {
    expect(msText(1_795_000_000_123)).toBe('1795000000123');
    expect(msText(1_795_000_000_007)).toBe('1795000000007');
    expect(msText(1_795_000_000_000)).toBe('1795000000000');
  });
});

describe('MQTT client against a real Aedes broker', () => {
  let broker: Broker | undefined;
  let p: SimPlatform | undefined;
  let client: MqttClient | undefined;
  afterEach(async () => {
    client?.end();
    p?.shutdown();
    await broker?.stop();
  });

  it('connects with username and password, gets PUBACKs, pings and reconnects after a drop', async () => {
    broker = await startBroker(0, { password: 'SECRET' });
    p = new SimPlatform({ clock: 'real' });
    client = new MqttClient(p, { host: '127.0.0.1', port: broker.port, clientId: 'NODE7', username: 'NODE7', password: 'SECRET', keepaliveS: 1, reconnectMinMs: 100 });
    client.start();
    await until('CONNACK', () => client!.connected);
    const acks: (string | null)[] = [];
    expect(client.publish('envmon/v1/NODE7/data', '{"x":1}', 1, false, (e) => acks.push(e))).toBe(true);
    expect(client.inFlight()).toBe(1);
    await until('PUBACK', () => acks.length === 1);
    expect(acks).toEqual([null]);
    expect(client.inFlight()).toBe(0);
    expect(broker.published[0]).toMatchObject({ topic: 'envmon/v1/NODE7/data', clientId: 'NODE7' });
    expect(broker.published[0]!.payload.toString()).toBe('{"x":1}');

    // Keep-alive 1 s: an idle client sends PINGREQ after half of it and the broker answers.
    await until('PINGREQ', () => broker!.pings >= 2, 4000);
    expect(client.connected).toBe(true);

    // The broker side drops the connection: the client reconnects by itself.
    broker.kick();
    await until('reconnect', () => client!.connects === 2 && client!.connected);
    expect(broker.connects).toEqual(['NODE7', 'NODE7']);
  });

  it('reports a refused password (CONNACK 5), keeps retrying with backoff, and fails in-flight publishes on a drop', async () => {
    broker = await startBroker(0, { password: 'SECRET', ackDelayMs: 5000 });
    p = new SimPlatform({ clock: 'real' });
    client = new MqttClient(p, { host: '127.0.0.1', port: broker.port, clientId: 'NODE7', password: 'wrong', username: 'NODE7', keepaliveS: 30, reconnectMinMs: 50 });
    client.start();
    await until('refusal', () => client!.lastRefusal !== 0);
    expect(client.lastRefusal).toBe(5);
    expect(client.connected).toBe(false);
    expect(client.publish('t', 'x', 1, false, null)).toBe(false);
    client.end();

    client = new MqttClient(p, { host: '127.0.0.1', port: broker.port, clientId: 'NODE7', password: 'SECRET', username: 'NODE7', keepaliveS: 30, reconnectMinMs: 50 });
    client.start();
    await until('CONNACK', () => client!.connected);
    const acks: (string | null)[] = [];
    client.publish('envmon/v1/NODE7/data', 'held', 1, false, (e) => acks.push(e));
    await until('broker got it', () => broker!.published.length === 1);
    broker.kick(); // PUBACK still held back by the broker
    await until('error callback', () => acks.length === 1);
    expect(acks).toEqual(['connection lost']);
  });
});

describe('MQTT mode: the node publishes JSON-twin batches that protocol decodes, and survives an outage', () => {
  let rig: SimRig | undefined;
  let app: App | undefined;
  let broker: Broker | undefined;
  afterEach(async () => {
    app?.stop();
    rig?.p.shutdown();
    await broker?.stop();
  });

  it('buffers while the broker is down, then delivers every window once PUBACKed, same seq on resend', async () => {
    // Find a free port, then leave it closed: the broker is "down".
    const probe = await startBroker(0);
    const port = probe.port;
    await probe.stop();
    rig = simRig('real', {
      station: 'NODE7', mode: 'mqtt', samplePeriodMs: 200, reportPeriodMs: 1000, ds18b20: null, analog: null,
      mqtt: { host: '127.0.0.1', port, password: 'SECRET', keepaliveS: 5, batchMax: 6, periodS: 1 },
    });
    app = startApp(rig.p, rig.cfg);
    await until('buffered windows', () => app!.node.stats.windows >= 3);
    expect(app.client!.connects).toBe(0);
    expect(app.client!.connected).toBe(false);
    expect(app.ring!.count).toBeGreaterThanOrEqual(12);

    broker = await startBroker(port, { password: 'SECRET', ackDelayMs: 150 });
    await until('first batch', () => broker!.published.length >= 1, 10_000);
    broker.kick(); // drop while a batch waits for its PUBACK
    await until('ring drained', () => app!.publisher!.acked >= 3 && app!.ring!.count === 0, 15_000);
    app.node.stop();
    const windows = app.node.stats.windows;
    await until('last batch', () => app!.ring!.count === 0 && app!.publisher!.inflight === null, 10_000);

    const batches: Batch[] = broker.published.filter((m) => m.topic === 'envmon/v1/NODE7/data').map((m) => decodeBatch(new Uint8Array(m.payload)));
    // A resent batch is the same bytes: same seq, same sent_at, same readings.
    const bySeq = new Map<number, string>();
    for (const m of broker.published) {
      const b = decodeBatch(new Uint8Array(m.payload));
      const prev = bySeq.get(b.seq);
      if (prev !== undefined) expect(m.payload.toString()).toBe(prev);
      bySeq.set(b.seq, m.payload.toString());
    }
    expect(broker.published.length).toBeGreaterThan(bySeq.size); // the kicked batch was sent twice
    const seqs = [...bySeq.keys()];
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(batches.map((b) => b.station))).toEqual(new Set(['NODE7']));
    const keys = new Set<string>();
    for (const b of batches) for (const r of b.readings) keys.add(`${r.param}@${r.time}`);
    expect(keys.size).toBe(windows * 4); // every window of PM2_5, PM10, TEMP, RH: none lost
    const r0 = batches[0]!.readings[0]!;
    expect(r0.period_s).toBe(1);
    expect(r0.time % 1000).toBe(0);
    expect(batches.every((b) => b.readings.length <= 6)).toBe(true);
  });
});
