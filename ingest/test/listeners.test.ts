import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch, encodeBatchJson, type Batch } from '@envmon/protocol';
import { hashSecret } from '../src/broker/secrets.ts';
import { connectStation, eventually, SECRET, startTestIngest } from './helpers.ts';

/**
 * The broker's other doors: MQTT over TLS for stations on untrusted networks, MQTT over WebSocket for browsers
 * with read-only credentials, the packet size limit, and clients of another maker (mosquitto_pub / mosquitto_sub).
 */
// The broker runs in this process: a client of another maker must run asynchronously, never with execFileSync.
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'envmon-listeners-'));
const READER_PASSWORD = 'reader-password-0123456789';
let ingest: Awaited<ReturnType<typeof startTestIngest>>;

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  ingest = await startTestIngest(
    { mqttTlsPort: 0, mqttWsPort: 0 },
    `mqtt:
  max_packet_bytes: 65536
  tls: { cert_file: "${join(dir, 'cert.pem')}", key_file: "${join(dir, 'key.pem')}" }
  websocket: { path: /mqtt }
  readers:
    - { username: wallscreen, secret_hash: "${await hashSecret(READER_PASSWORD)}", topics: ["envmon/v1/+/data", "envmon/v1/+/status"] }
`,
  );
});
afterAll(async () => {
  await ingest?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const reading = (value: number, offsetMs = 0) => ({ param: 'PM10', time: Math.floor(Date.now() / 1000) * 1000 - offsetMs, value, status: 0 as const, qc_flags: 0, period_s: 0 });
const batch = (seq: number, value: number, offsetMs = 0): Batch => ({ station: 'S1', seq, sent_at: Date.now(), readings: [reading(value, offsetMs)] });

describe('MQTT over TLS', () => {
  it('accepts a station that verifies the server certificate, and stores its data', async () => {
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${ingest.mqttTlsPort}`, {
      username: 'S1', password: SECRET, protocolVersion: 4, ca: readFileSync(join(dir, 'cert.pem')), reconnectPeriod: 0,
    });
    await c.publishAsync('envmon/v1/S1/data', Buffer.from(encodeBatch(batch(1, 11.5, 50_000))), { qos: 1 });
    await c.endAsync();
    await eventually(async () => ((await ingest.store.latest({ station: 'S1', param: 'PM10' }))[0]?.value === 11.5 ? true : undefined));
  });
});

describe('MQTT over WebSocket with read-only credentials', () => {
  it('lets a browser-style client watch data but never publish or read commands', async () => {
    const url = `ws://127.0.0.1:${ingest.mqttWsPort}/mqtt`;
    const viewer = await mqtt.connectAsync(url, { username: 'wallscreen', password: READER_PASSWORD, protocolVersion: 4, reconnectPeriod: 0 });
    await viewer.subscribeAsync('envmon/v1/+/data', { qos: 0 });
    await expect(viewer.subscribeAsync('envmon/v1/S1/cmd', { qos: 0 })).rejects.toBeTruthy();
    const got = new Promise<Buffer>((resolve) => viewer.on('message', (_t, p) => resolve(p)));
    const station = await connectStation(ingest.mqttUrl, 'S1');
    await station.publishAsync('envmon/v1/S1/data', Buffer.from(encodeBatch(batch(2, 12.5, 40_000))), { qos: 1 });
    expect((await got).length).toBeGreaterThan(0);
    await station.endAsync();
    await viewer.endAsync(true);

    const intruder = await mqtt.connectAsync(url, { username: 'wallscreen', password: READER_PASSWORD, protocolVersion: 4, reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish('envmon/v1/S1/data', Buffer.from(encodeBatch(batch(3, 999, 30_000))), { qos: 1 });
    await closed;
    intruder.end(true);
    await expect(mqtt.connectAsync(url, { username: 'wallscreen', password: 'wrong-password-000', protocolVersion: 4, reconnectPeriod: 0 })).rejects.toThrow();
    expect((await ingest.store.latest({ station: 'S1', param: 'PM10' }))[0]?.value).not.toBe(999);
  });
});

describe('packet size limit', () => {
  it('closes a connection that announces a packet above the limit, before buffering it', async () => {
    const c = await connectStation(ingest.mqttUrl, 'S1');
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.publish('envmon/v1/S1/data', Buffer.alloc(200_000, 0x41), { qos: 1 });
    await closed;
    c.end(true);
    // A raw header announcing 200 MB is cut off on its own, with no body sent at all.
    const socket = connect(ingest.mqttPort, '127.0.0.1');
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64]));
    await ended;
    const ok = await connectStation(ingest.mqttUrl, 'S1');
    await ok.endAsync();
  });
});

describe('clients of another maker', () => {
  it('mosquitto_pub publishes the JSON twin and mosquitto_sub receives as a read-only user', async () => {
    const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(ingest.mqttPort), '-V', 'mqttv311', '-u', 'wallscreen', '-P', READER_PASSWORD,
      '-t', 'envmon/v1/+/data', '-C', '1', '-v']);
    let out = '';
    sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const subDone = new Promise<number | null>((resolve) => sub.once('exit', resolve));
    await new Promise((r) => setTimeout(r, 500)); // let it subscribe
    const json = encodeBatchJson(batch(4, 13.25, 20_000));
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(ingest.mqttPort), '-V', 'mqttv311', '-u', 'S1', '-P', SECRET, '-q', '1',
      '-t', 'envmon/v1/S1/data', '-m', json]);
    expect(await subDone).toBe(0);
    expect(out).toContain(`envmon/v1/S1/data ${json}`);
    await eventually(async () => ((await ingest.store.latest({ station: 'S1', param: 'PM10' }))[0]?.value === 13.25 ? true : undefined));
    // And the ACL holds for them too: mosquitto_pub into another station's subtree gets no PUBACK.
    await expect(
      run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(ingest.mqttPort), '-V', 'mqttv311', '-u', 'S1', '-P', SECRET, '-q', '1',
        '-t', 'envmon/v1/S2/data', '-m', json], { timeout: 10_000 }),
    ).rejects.toBeTruthy();
    expect(await ingest.store.count('S2')).toBe(0);
  });
});
