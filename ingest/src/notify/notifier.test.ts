import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmsReceiver } from '../../test/support/sms-receiver.ts';
import { openAlarmDb } from '../alarms/alarm-db.ts';
import { AlarmEngine } from '../alarms/engine.ts';
import { parseRules } from '../alarms/rules.ts';
import { LiveHub } from '../live/hub.ts';
import type { StoredReading } from '../store/store.ts';
import { parseNotifyConfig } from './config.ts';
import { smsSize } from './gsm7.ts';
import { handleInboundSms } from './inbound.ts';
import { Notifier } from './notifier.ts';

const T0 = Date.parse('2025-06-01T01:00:00Z');
const AN = '+84901000001';
const BINH = '+84901000002';
const CHI = '+84901000003';
let receiver: SmsReceiver;
const dirs: string[] = [];
beforeEach(async () => {
  receiver = await new SmsReceiver().start();
});
afterEach(async () => {
  await receiver.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const RULES = `
version: 1
defaults: { notify: duty }
rules:
  - { id: pm25-high, kind: threshold, param: PM2_5, above: 50, hysteresis: 5, name: { vi: "PM2.5 cao", en: "PM2.5 high" } }
  - { id: no2-high, kind: threshold, param: NO2, above: 200 }
  - { id: so2-high, kind: threshold, param: SO2, above: 350 }
  - { id: fault, kind: device_fault, notify: none }
`;

function notifyYaml(o: { url?: string; extraProvider?: string; rateMax?: number; signature?: boolean; format?: string } = {}): string {
  return `
version: 1
providers:
  gw:
    ${o.url === undefined ? `url: ${receiver.url}` : o.url}
    format: ${o.format ?? 'json'}
    body: { to: "{to}", text: "{text}", ref: "{key}", parts: "{segments}" }
    retry: { max_attempts: 5, backoff: 2s, max_backoff: 30s }
    ${o.signature ? 'signature: { secret_env: SMS_HMAC, header: X-Signature }' : ''}
rate_limit: { max: ${o.rateMax ?? 10}, per: 1h }
recipients:
  - { id: an, name: "Nguyễn Văn An", phone: "${AN}", lang: vi, provider: gw, fold_diacritics: true }
  - { id: binh, phone: "${BINH}", lang: en, provider: gw }
  - { id: chi, phone: "${CHI}", lang: vi, provider: gw }
groups:
  duty: [an, binh]
  managers: [chi]
policies:
  duty:
    stages:
      - { after: 0s, notify: [duty] }
      - { after: 10s, notify: [managers] }
    notify_clear: true
inbound:
  from_field: from
  text_field: text
`;
}

async function setup(notify = notifyYaml(), env: NodeJS.ProcessEnv = {}, dir?: string) {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'envmon-notify-'));
  if (!dir) dirs.push(d);
  const db = openAlarmDb(join(d, 'alarms.sqlite'));
  const clock = { t: T0, now() { return this.t; } };
  const hub = new LiveHub();
  const config = parseNotifyConfig(notify, 'recipients.yaml');
  const rules = parseRules(RULES, 'rules.yaml', { policies: Object.keys(config.policies) });
  const notifier = new Notifier({ db, config, clock, env, tickMs: 0, policyFor: (id) => rules.rules.find((r) => r.id === id)?.notify, stationName: (s) => `Trạm ${s}` });
  const engine = new AlarmEngine({ db, rules, subscribe: (l) => hub.subscribe(l), stations: ['S1'], sink: notifier, clock, tickMs: 0 });
  await engine.start();
  notifier.start();
  const feed = async (param: string, value: number | null, dt: number, status: 0 | 1 | 2 = 0) => {
    const r: StoredReading = { station: 'S1', param, time: T0 + dt, value, status, qc_flags: 0, period_s: 0 };
    hub.publish({ type: 'readings', station: 'S1', readings: [r] });
    await engine.idle();
    await notifier.tick();
  };
  const advance = async (ms: number) => {
    clock.t += ms;
    await notifier.tick();
  };
  const close = async () => {
    engine.stop();
    await notifier.stop();
    db.close();
  };
  return { dir: d, db, clock, notifier, engine, feed, advance, close };
}

describe('one alarm, one SMS', () => {
  it('a signal flapping around the limit sends one SMS per recipient, in their language', async () => {
    const s = await setup();
    for (const [i, v] of [49, 51, 48, 52, 47, 51, 49, 53].entries()) await s.feed('PM2_5', v, i * 1000);
    expect(receiver.deliveredTo(AN).length).toBe(1);
    expect(receiver.deliveredTo(BINH).length).toBe(1);
    expect(receiver.requests.length).toBe(2);
    const an = receiver.deliveredTo(AN)[0]!.text;
    const binh = receiver.deliveredTo(BINH)[0]!.text;
    // an folds Vietnamese to GSM-7 (one segment); binh reads English.
    expect(an).toMatch(/^\[envmon\] CANH BAO #1 Tram S1: Bui PM2.5 51 ug\/Nm3 > 50 luc 08:00 01\/06\. Tra loi OK 1 de xac nhan\.$/);
    expect(smsSize(an)).toMatchObject({ encoding: 'gsm7', segments: 1 });
    expect(binh).toMatch(/^\[envmon\] ALARM #1 Trạm S1: PM2.5 51 µg\/Nm³ > 50 at 08:00 01\/06\. Reply OK 1 to acknowledge\.$/);
    // The segment count was known before sending and travels in the body.
    const row = s.notifier.outbox.list({ recipient: 'an' })[0]!;
    expect(row).toMatchObject({ status: 'delivered', encoding: 'gsm7', segments: 1, attempts: 1 });
    expect(receiver.requests.find((r) => r.fields.to === AN)!.fields.parts).toBe('1');
    // Clearing (below 45) tells both once.
    await s.feed('PM2_5', 40, 20_000);
    expect(receiver.deliveredTo(AN).map((d) => d.text)[1]).toMatch(/^\[envmon\] HET CANH BAO #1/);
    expect(receiver.delivered.length).toBe(4);
    await s.close();
  });
});

describe('delivery: retries, idempotency, restarts', () => {
  it('the gateway answering 500 then 200 gets the SMS exactly once, after the backoff, with one key', async () => {
    const s = await setup();
    receiver.failNext = 2; // both first attempts (an, binh) fail
    await s.feed('NO2', 250, 0);
    expect(receiver.requests.map((r) => r.status)).toEqual([500, 500]);
    expect(s.notifier.outbox.list().map((r) => r.status)).toEqual(['retrying', 'retrying']);
    await s.advance(1000); // backoff is 2 s: nothing yet
    expect(receiver.requests.length).toBe(2);
    await s.advance(1000);
    expect(receiver.requests.map((r) => r.status)).toEqual([500, 500, 200, 200]);
    expect(receiver.delivered.length).toBe(2);
    const keys = receiver.requests.map((r) => r.key);
    expect(new Set(keys).size).toBe(2);
    expect(s.notifier.outbox.list().map((r) => [r.status, r.attempts, r.last_http_status])).toEqual([['delivered', 2, 200], ['delivered', 2, 200]]);
    // Nothing more for them later (chi gets the stage-2 escalation: nobody acknowledged).
    await s.advance(60_000);
    expect(receiver.requests.filter((r) => r.fields.to !== CHI).length).toBe(4);
    expect(receiver.deliveredTo(CHI).length).toBe(1);
    await s.close();
  });

  it('a lost response (accepted, answered 500) is retried with the same key and not delivered twice', async () => {
    const s = await setup();
    receiver.acceptButFailNext = 2;
    await s.feed('NO2', 250, 0);
    await s.advance(2000);
    expect(receiver.requests.length).toBe(4);
    expect(receiver.requests.filter((r) => r.duplicate).length).toBe(2);
    expect(receiver.deliveredTo(AN).length).toBe(1);
    expect(receiver.deliveredTo(BINH).length).toBe(1);
    await s.close();
  });

  it('with the provider down for a while each recipient gets the SMS exactly once after recovery', async () => {
    const s = await setup();
    receiver.down = true;
    await s.feed('NO2', 250, 0);
    for (let i = 0; i < 3; i++) await s.advance(10_000);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(6);
    expect(receiver.delivered.length).toBe(0);
    receiver.down = false;
    await s.advance(30_000);
    expect(receiver.deliveredTo(AN).length).toBe(1);
    expect(receiver.deliveredTo(BINH).length).toBe(1);
    await s.advance(60_000);
    expect(receiver.deliveredTo(AN).length).toBe(1);
    expect(receiver.deliveredTo(BINH).length).toBe(1);
    expect(receiver.requests.filter((r) => r.status === 200 && r.fields.to !== CHI).length).toBe(2);
    await s.close();
  });

  it('a message queued before a crash is sent after the restart; one left "sending" is re-sent with its key', async () => {
    const a = await setup();
    receiver.down = true;
    await a.feed('NO2', 250, 0);
    // Simulate a crash in the middle of a request: the row says sending.
    a.db.prepare(`UPDATE notifications SET status = 'sending' WHERE recipient = 'an'`).run();
    await a.close();
    receiver.down = false;
    const b = await setup(notifyYaml(), {}, a.dir);
    b.clock.t = T0 + 60_000;
    await b.notifier.tick();
    expect(receiver.deliveredTo(AN).length).toBe(1);
    expect(receiver.deliveredTo(BINH).length).toBe(1);
    expect(new Set(receiver.requests.filter((r) => r.fields.to === AN).map((r) => r.key)).size).toBe(1);
    await b.close();
  });

  it('gives up after max_attempts and on a 4xx, and keeps the reason', async () => {
    const s = await setup(notifyYaml({ signature: true }), { SMS_HMAC: 'wrong-secret' });
    receiver.hmacSecret = 'right-secret';
    await s.feed('NO2', 250, 0);
    expect(s.notifier.outbox.list().map((r) => [r.status, r.last_http_status])).toEqual([['failed', 401], ['failed', 401]]);
    await s.close();
  });
});

describe('escalation', () => {
  it('goes to stage 2 when nobody acknowledges', async () => {
    const s = await setup();
    await s.feed('SO2', 400, 0);
    expect(receiver.deliveredTo(CHI).length).toBe(0);
    await s.advance(9000);
    expect(receiver.deliveredTo(CHI).length).toBe(0);
    await s.advance(1000);
    expect(receiver.deliveredTo(CHI).length).toBe(1);
    expect(receiver.deliveredTo(CHI)[0]!.text).toMatch(/^\[envmon\] CHƯA AI XÁC NHẬN sau 10 giây: CẢNH BÁO #1/);
    expect(s.engine.history(1).map((h) => h.action)).toEqual(['raised', 'notified', 'escalated']);
    await s.advance(60_000);
    expect(receiver.delivered.length).toBe(3);
    await s.close();
  });

  it('stops when someone acknowledges through the API', async () => {
    const s = await setup();
    await s.feed('SO2', 400, 0);
    await s.advance(5000);
    s.engine.acknowledge(1, 'binh');
    await s.advance(30_000);
    expect(receiver.deliveredTo(CHI).length).toBe(0);
    expect(s.notifier.outbox.escalation(1)).toMatchObject({ status: 'stopped', reason: 'acknowledged by binh' });
    await s.close();
  });

  it('stops when a recipient acknowledges by replying to the SMS', async () => {
    const s = await setup();
    await s.feed('SO2', 400, 0);
    const ack = (id: number, by: string, comment: string) => s.engine.acknowledge(id, by, comment);
    const reply = (from: string, text: string) =>
      handleInboundSms(s.notifier, ack, { rawBody: JSON.stringify({ from, text }), contentType: 'application/json', header: () => undefined });
    expect(reply('+84999999999', 'OK 1').body).toMatchObject({ ok: false, reason: /not a configured recipient/ });
    expect(reply('0901000001', 'hello').body).toMatchObject({ ok: false });
    // A bare "Đã nhận" from an (national number form) acknowledges the newest alarm an was sent.
    expect(reply('0901000001', 'Đã nhận')).toEqual({ status: 200, body: { ok: true, acknowledged: 1 } });
    expect(s.engine.get(1)).toMatchObject({ state: 'acknowledged', acknowledged_by: 'sms:an' });
    expect(reply(BINH, 'ok 1').body).toMatchObject({ ok: false, reason: /already acknowledged/ });
    await s.advance(30_000);
    expect(receiver.deliveredTo(CHI).length).toBe(0);
    // an, who replied, is told it worked (folded to GSM-7 as an asked); binh, notified too, is not (no notify_ack).
    expect(receiver.deliveredTo(AN).map((d) => d.text)).toEqual([expect.stringMatching(/^\[envmon\] CANH BAO #1/), expect.stringMatching(/^\[envmon\] DA XAC NHAN #1 Tram S1 \(Nguyen Van An\): /)]);
    expect(receiver.deliveredTo(BINH)).toHaveLength(1);
    await s.close();
  });

  it('with notify_ack, tells everyone notified who took the alarm, even when nobody replied by SMS', async () => {
    const s = await setup(notifyYaml().replace('notify_clear: true', 'notify_clear: true\n    notify_ack: true'));
    await s.feed('SO2', 400, 0);
    s.engine.acknowledge(1, 'duty-officer');
    await s.advance(1000);
    expect(receiver.deliveredTo(BINH).map((d) => d.text)).toEqual([expect.stringMatching(/^\[envmon\] ALARM #1/), expect.stringMatching(/^\[envmon\] ACKNOWLEDGED #1 Trạm S1 by duty-officer: Sulphur dioxide 400 µg\/Nm³ > 350\.$/)]);
    expect(receiver.deliveredTo(AN)).toHaveLength(2);
    expect(receiver.deliveredTo(CHI)).toHaveLength(0);
    await s.close();
  });
});

describe('rate limit and unconfigured providers', () => {
  it('sends at most max messages per recipient per window and records the rest as rate_limited', async () => {
    const s = await setup(notifyYaml({ rateMax: 2 }));
    await s.feed('SO2', 400, 0);
    await s.feed('NO2', 250, 1000);
    await s.feed('PM2_5', 60, 2000);
    expect(receiver.deliveredTo(AN).length).toBe(2);
    expect(s.notifier.outbox.list({ recipient: 'an' }).map((r) => r.status)).toEqual(['rate_limited', 'delivered', 'delivered']);
    // An hour after the first message the window has room again: the held-back message is summed up in a digest.
    await s.advance(3_600_001);
    expect(receiver.deliveredTo(AN).length).toBe(3);
    expect(receiver.deliveredTo(AN)[2]!.text).toMatch(/^\[envmon\] 1 tin canh bao tu .* chua gui cho ban vi vuot gioi han tin nhan: #3 Tram S1\. /);
    expect(s.notifier.outbox.list({ recipient: 'an' }).map((r) => `${r.kind}:${r.status}`)).toEqual(['digest:delivered', 'raised:digested', 'raised:delivered', 'raised:delivered']);
    // The digest counts against the limit (2 per hour): the next re-raise goes out, the one after is held back.
    await s.feed('PM2_5', 40, 3_700_000);
    await s.feed('PM2_5', 60, 3_701_000);
    expect(receiver.deliveredTo(AN).length).toBe(4);
    await s.feed('PM2_5', 40, 3_702_000);
    await s.feed('PM2_5', 60, 3_703_000);
    expect(receiver.deliveredTo(AN).length).toBe(4);
    await s.advance(3_600_000); // the window still holds the two sent at 3 600 001: still held back
    expect(receiver.deliveredTo(AN).length).toBe(4);
    await s.advance(1);
    expect(receiver.deliveredTo(AN).length).toBe(5);
    // Held back: the re-raise and the clearing before it (binh got both); one digest sums them up.
    expect(receiver.deliveredTo(AN)[4]!.text).toMatch(/^\[envmon\] 2 tin .*: #3 Tram S1\. /);
    await s.advance(3_600_000);
    expect(receiver.deliveredTo(AN).length).toBe(5); // nothing more was held back: no empty digest
    await s.close();
  });

  it('records messages as not_configured when the provider URL is unset, and never fails', async () => {
    const s = await setup(notifyYaml({ url: 'url_env: ENVMON_SMS_URL' }), {});
    await s.feed('SO2', 400, 0);
    await s.advance(60_000);
    expect(receiver.requests.length).toBe(0);
    // an and binh at once, chi at the stage-2 escalation: all recorded, none sent.
    expect(s.notifier.outbox.list().map((r) => `${r.recipient}:${r.status}`)).toEqual(['chi:not_configured', 'binh:not_configured', 'an:not_configured']);
    expect(s.engine.get(1)!.state).toBe('raised');
    await s.close();
  });

  it('signs form posts with HMAC over the exact body', async () => {
    receiver.hmacSecret = 's3cret';
    const s = await setup(notifyYaml({ signature: true, format: 'form' }), { SMS_HMAC: 's3cret' });
    await s.feed('SO2', 400, 0);
    expect(receiver.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(receiver.requests[0]!.headers['content-type']).toMatch(/x-www-form-urlencoded/);
    expect(receiver.requests[0]!.fields.ref).toBe(receiver.requests[0]!.key);
    await s.close();
  });
});
