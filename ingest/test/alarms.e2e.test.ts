import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch, type Reading } from '@envmon/protocol';
import { hashToken } from '../src/api/auth.ts';
import { hashSecret } from '../src/broker/secrets.ts';
import { parseIngestConfig } from '../src/config/config.ts';
import { startIngest, type RunningIngest } from '../src/ingest.ts';
import { connectStation, eventually, SECRET } from './helpers.ts';
import { SmsReceiver } from './support/sms-receiver.ts';

/**
 * The whole path, in real time with second-long durations: MQTT station → pipeline → live hub → alarm engine →
 * outbox → SMS webhook (a real HTTP server on loopback) → SMS reply webhook → acknowledgement → escalation stops.
 */
const OPERATOR = 'tok-operator-alarms-0123456789';
const HMAC = 'inbound-hmac-secret';
const AN = '+84901000001';
const BINH = '+84901000002';
const CHI = '+84901000003';

let receiver: SmsReceiver;
let dir: string;
let ingest: RunningIngest;
let config: ReturnType<typeof parseIngestConfig>;
let s1: MqttClient;
let s2: MqttClient;
let seq = 0;
const T0 = Math.floor(Date.now() / 1000) * 1000 - 120_000;

async function start(): Promise<void> {
  ingest = await startIngest({
    config,
    dataDir: join(dir, 'data'),
    httpPort: 0,
    mqttPort: 0,
    env: { ENVMON_SMS_URL: receiver.url, SMS_INBOUND_HMAC: HMAC },
    log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
  });
  s1 = await connectStation(ingest.mqttUrl, 'S1');
  s2 = await connectStation(ingest.mqttUrl, 'S2');
}

async function stop(): Promise<void> {
  await s1?.endAsync(true);
  await s2?.endAsync(true);
  await ingest?.stop();
}

beforeAll(async () => {
  receiver = await new SmsReceiver().start();
  dir = mkdtempSync(join(tmpdir(), 'envmon-alarms-e2e-'));
  writeFileSync(
    join(dir, 'rules.yaml'),
    `version: 1
defaults: { notify: duty }
rules:
  - { id: pm25-high, kind: threshold, param: PM2_5, stations: [S1], above: 50, hysteresis: 10% }
  - { id: no2-high, kind: threshold, param: NO2, stations: [S1], above: 200 }
  - { id: co-high, kind: threshold, param: CO, stations: [S1], above: 30000 }
  - { id: o3-high, kind: threshold, param: O3, stations: [S1], above: 200 }
  - { id: so2-3s, kind: threshold, param: SO2, stations: [S1], above: 350, raise: { for: 3s } }
  - { id: analyser-fault, kind: device_fault, stations: [S1], params: [PM10], notify: none }
  - { id: s2-silent, kind: silent, stations: [S2], after: 2s, notify: none }
`,
  );
  writeFileSync(
    join(dir, 'recipients.yaml'),
    `version: 1
providers:
  agency:
    url_env: ENVMON_SMS_URL
    format: json
    body: { to: "{to}", text: "{text}" }
    retry: { max_attempts: 20, backoff: 200ms, max_backoff: 1s }
recipients:
  - { id: an, phone: "${AN}", lang: vi, provider: agency, fold_diacritics: true }
  - { id: binh, phone: "${BINH}", lang: en, provider: agency }
  - { id: chi, phone: "${CHI}", lang: vi, provider: agency }
groups:
  duty: [an, binh]
  managers: [chi]
policies:
  duty:
    stages:
      - { after: 0s, notify: [duty] }
      - { after: 2s, notify: [managers] }
inbound:
  signature: { secret_env: SMS_INBOUND_HMAC, header: X-Signature }
`,
  );
  const hash = await hashSecret(SECRET);
  config = parseIngestConfig(
    `
stations:
  - { id: S1, medium: air, params: [PM2_5, PM10, SO2, NO2, CO, O3], secret_hash: "${hash}" }
  - { id: S2, medium: water, params: [PH], secret_hash: "${hash}" }
api:
  tokens:
    - { name: duty-officer, role: operator, token_hash: "${hashToken(OPERATOR)}" }
alarms:
  rules: rules.yaml
  recipients: recipients.yaml
  tick_ms: 100
`,
    join(dir, 'ingest.yaml'),
  );
  await start();
});

afterAll(async () => {
  await stop();
  await receiver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function publish(station: 'S1' | 'S2', readings: Omit<Reading, 'qc_flags' | 'period_s'>[]): Promise<void> {
  const c = station === 'S1' ? s1 : s2;
  await c.publishAsync(`envmon/v1/${station}/data`, Buffer.from(encodeBatch({ station, seq: ++seq, sent_at: Date.now(), readings: readings.map((r) => ({ ...r, qc_flags: 0, period_s: 0 })) })), { qos: 1 });
}

const api = (path: string, init: RequestInit = {}) =>
  fetch(new URL(`/api/v1${path}`, ingest.httpUrl), { ...init, headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

interface AlarmJson {
  id: number;
  rule: string;
  state: string;
  station: string;
  param: string;
  raised_at: number;
  acknowledged_by: string | null;
}
async function alarmsOf(rule: string): Promise<AlarmJson[]> {
  const r = await api(`/alarms?rule=${rule}`);
  return ((await r.json()) as { alarms: AlarmJson[] }).alarms;
}
const smsFor = (alarmId: number, phone?: string) => receiver.delivered.filter((d) => d.key.startsWith(`envmon-a${alarmId}-`) && (!phone || d.to === phone));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('alarms end to end', () => {
  it('a signal flapping around the limit gives one alarm and one SMS per recipient; unacknowledged, it escalates', async () => {
    const values = [48, 52, 49, 53, 47, 51, 49.5, 55, 46, 51];
    for (const [i, v] of values.entries()) await publish('S1', [{ param: 'PM2_5', time: T0 + i * 1000, value: v, status: 0 }]);
    const [alarm] = await eventually(async () => ((await alarmsOf('pm25-high')).length ? alarmsOf('pm25-high') : undefined), 5000, 'the PM2.5 alarm');
    expect(alarm).toMatchObject({ state: 'raised', station: 'S1', param: 'PM2_5' });
    await eventually(() => (smsFor(alarm!.id, AN).length && smsFor(alarm!.id, BINH).length ? true : undefined), 5000, 'SMS to an and binh');
    expect(smsFor(alarm!.id, AN)[0]!.text).toMatch(/^\[envmon\] CANH BAO #\d+ S1: Bui PM2.5 52 ug\/Nm3 > 50 luc/);
    // Nobody acknowledges: chi (stage 2) gets it after 2 s, once.
    await eventually(() => (smsFor(alarm!.id, CHI).length ? true : undefined), 6000, 'stage-2 escalation');
    await sleep(500);
    expect((await alarmsOf('pm25-high')).length).toBe(1);
    expect(smsFor(alarm!.id, AN).length).toBe(1);
    expect(smsFor(alarm!.id, BINH).length).toBe(1);
    expect(smsFor(alarm!.id, CHI).length).toBe(1);
    expect(smsFor(alarm!.id, CHI)[0]!.text).toMatch(/^\[envmon\] CHƯA AI XÁC NHẬN sau 2 giây/);
  });

  it('escalation stops when someone acknowledges through the API', async () => {
    await publish('S1', [{ param: 'NO2', time: T0 + 20_000, value: 250, status: 0 }]);
    const [alarm] = await eventually(async () => ((await alarmsOf('no2-high')).length ? alarmsOf('no2-high') : undefined), 5000, 'the NO2 alarm');
    const res = await api(`/alarms/${alarm!.id}/ack`, { method: 'POST', body: JSON.stringify({ comment: 'checking the analyser' }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { alarm: AlarmJson }).alarm).toMatchObject({ state: 'acknowledged', acknowledged_by: 'duty-officer' });
    expect((await api(`/alarms/${alarm!.id}/ack`, { method: 'POST', body: '{}' })).status).toBe(409);
    expect((await fetch(new URL(`/api/v1/alarms/${alarm!.id}/ack`, ingest.httpUrl), { method: 'POST' })).status).toBe(401);
    await sleep(3000);
    expect(smsFor(alarm!.id, CHI)).toEqual([]);
    const detail = (await (await api(`/alarms/${alarm!.id}`)).json()) as { history: { action: string; by: string | null }[]; escalation: { status: string } };
    expect(detail.escalation.status).toBe('stopped');
    expect(detail.history.map((h) => h.action)).toEqual(['raised', 'notified', 'acknowledged', 'escalated']);
    const c = await api(`/alarms/${alarm!.id}/comments`, { method: 'POST', body: JSON.stringify({ text: 'zero drift, recalibrated' }) });
    expect(c.status).toBe(201);
  });

  it('escalation stops when a recipient acknowledges by replying to the SMS (signed webhook)', async () => {
    await publish('S1', [{ param: 'CO', time: T0 + 21_000, value: 31000, status: 0 }]);
    const [alarm] = await eventually(async () => ((await alarmsOf('co-high')).length ? alarmsOf('co-high') : undefined), 5000, 'the CO alarm');
    const body = new URLSearchParams({ from: '0901000002', text: `ok ${alarm!.id}` }).toString();
    const post = (sig: string) =>
      fetch(new URL('/api/v1/alarms/sms-inbound', ingest.httpUrl), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-signature': sig }, body });
    expect((await post('sha256=00')).status).toBe(401);
    const ok = await post(`sha256=${createHmac('sha256', HMAC).update(body).digest('hex')}`);
    expect(await ok.json()).toEqual({ ok: true, acknowledged: alarm!.id });
    expect((await alarmsOf('co-high'))[0]).toMatchObject({ state: 'acknowledged', acknowledged_by: 'sms:binh' });
    await sleep(3000);
    expect(smsFor(alarm!.id, CHI)).toEqual([]);
  });

  it('with the SMS gateway down for a while, each recipient gets the SMS exactly once after recovery', async () => {
    receiver.down = true;
    const before = receiver.requests.length;
    await publish('S1', [{ param: 'O3', time: T0 + 22_000, value: 250, status: 0 }]);
    const [alarm] = await eventually(async () => ((await alarmsOf('o3-high')).length ? alarmsOf('o3-high') : undefined), 5000, 'the O3 alarm');
    await eventually(() => (receiver.requests.length - before >= 6 ? true : undefined), 8000, 'several refused attempts');
    expect(smsFor(alarm!.id)).toEqual([]);
    receiver.down = false;
    await eventually(() => (smsFor(alarm!.id, CHI).length ? true : undefined), 8000, 'delivery after recovery');
    await sleep(1500);
    expect(smsFor(alarm!.id, AN).length).toBe(1);
    expect(smsFor(alarm!.id, BINH).length).toBe(1);
    expect(smsFor(alarm!.id, CHI).length).toBe(1);
    const list = (await (await api(`/alarms/notifications?alarm=${alarm!.id}`)).json()) as { notifications: { status: string; attempts: number }[] };
    expect(list.notifications.every((n) => n.status === 'delivered')).toBe(true);
    expect(list.notifications.some((n) => n.attempts > 1)).toBe(true);
  });

  it('a status-02 reading raises a device-fault alarm, shown on the live stream; calibration is reported', async () => {
    const ctrl = new AbortController();
    const res = await fetch(new URL('/api/v1/stream?station=S1', ingest.httpUrl), { signal: ctrl.signal, headers: { authorization: `Bearer ${OPERATOR}` } });
    const reader = res.body!.getReader();
    let text = '';
    const read = (async () => {
      while (!/event: alarm\ndata: .*"action":"raised".*"rule":"analyser-fault"/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    await publish('S1', [{ param: 'PM10', time: T0 + 23_000, value: null, status: 2 }]);
    await read;
    ctrl.abort();
    const [fault] = await alarmsOf('analyser-fault');
    expect(fault).toMatchObject({ state: 'raised', param: 'PM10' });

    await publish('S1', [{ param: 'NO2', time: T0 + 24_000, value: 900, status: 1 }]);
    const sup = await eventually(async () => {
      const b = (await (await api('/alarms/suppressions')).json()) as { suppressions: { param: string; note: string }[] };
      return b.suppressions.length ? b.suppressions : undefined;
    }, 5000, 'the calibration suppression');
    expect(sup[0]).toMatchObject({ param: 'NO2', note: expect.stringMatching(/calibrating.*suppressed/) });
  });

  it('a silent station is raised by the timer and cleared when data arrives', async () => {
    const [silent] = await eventually(async () => ((await alarmsOf('s2-silent')).length ? alarmsOf('s2-silent') : undefined), 6000, 'the silent-station alarm');
    expect(silent).toMatchObject({ station: 'S2', param: '*', state: 'raised' });
    await publish('S2', [{ param: 'PH', time: T0 + 25_000, value: 7.2, status: 0 }]);
    await eventually(async () => ((await alarmsOf('s2-silent'))[0]!.state === 'cleared' ? true : undefined), 5000, 'the silent alarm cleared');
  });

  it('a restart of the ingest during a raise duration raises once, at the right reading time', async () => {
    const t = T0 + 30_000;
    await publish('S1', [{ param: 'SO2', time: t, value: 400, status: 0 }]);
    await publish('S1', [{ param: 'SO2', time: t + 1000, value: 400, status: 0 }]);
    await eventually(async () => {
      const r = (await (await api('/latest?station=S1&param=SO2')).json()) as { readings?: { time: number }[] } | { time: number }[];
      const list = Array.isArray(r) ? r : (r.readings ?? []);
      return list.some((x) => x.time === t + 1000) ? true : undefined;
    }, 5000, 'SO2 stored');
    await sleep(300);
    await stop();
    await start();
    await publish('S1', [{ param: 'SO2', time: t + 2000, value: 400, status: 0 }]);
    await sleep(500);
    expect(await alarmsOf('so2-3s')).toEqual([]);
    await publish('S1', [{ param: 'SO2', time: t + 3000, value: 400, status: 0 }]);
    const [a] = await eventually(async () => ((await alarmsOf('so2-3s')).length ? alarmsOf('so2-3s') : undefined), 5000, 'the SO2 alarm');
    expect(a!.raised_at).toBe(t + 3000);
    await publish('S1', [{ param: 'SO2', time: t + 4000, value: 400, status: 0 }]);
    await sleep(500);
    expect((await alarmsOf('so2-3s')).length).toBe(1);
    // Alarms from before the restart are still there, with their state.
    expect((await alarmsOf('no2-high'))[0]).toMatchObject({ state: 'acknowledged', acknowledged_by: 'duty-officer' });
  });
});
