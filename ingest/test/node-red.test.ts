/**
 * Node-RED embedded in the ingest (src/node-red): flows deployed through the admin API with an admin token see
 * readings published over MQTT and post them to a real HTTP server; `envmon write` stores through the pipeline and
 * reports rejections; the shipped example flows work; credentials are encrypted on disk and left out of the export;
 * the editor loads in headless Chromium for an admin signed in on the dashboard, with its WebSocket connected;
 * viewers and strangers are refused; with the switch off `/flows` is 404.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot } from '../../dashboards/test/support/browser.ts';
import { hashSecret } from '../src/broker/secrets.ts';
import { parseIngestConfig } from '../src/config/config.ts';
import { connectStation, eventually, SECRET, startTestIngest } from './helpers.ts';

const TOKENS = {
  admin: `envmon_admin_${randomBytes(12).toString('hex')}`,
  operator: `envmon_operator_${randomBytes(12).toString('hex')}`,
  viewer: `envmon_viewer_${randomBytes(12).toString('hex')}`,
};
const sha = (t: string) => `sha256$${createHash('sha256').update(t).digest('hex')}`;
const bearer = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` });
const EXAMPLES = new URL('../src/node-red/examples/', import.meta.url);

async function configYaml(nodeRed: string): Promise<ReturnType<typeof parseIngestConfig>> {
  const hash = await hashSecret(SECRET);
  return parseIngestConfig(`
stations:
  - { id: S1, medium: air, params: [PM2_5, PM10], secret_hash: "${hash}" }
  - { id: S2, medium: water, params: [COD, PH], secret_hash: "${hash}" }
api:
  tokens:
    - { name: test-admin, role: admin, token_hash: "${sha(TOKENS.admin)}" }
    - { name: test-operator, role: operator, token_hash: "${sha(TOKENS.operator)}" }
    - { name: test-viewer, role: viewer, token_hash: "${sha(TOKENS.viewer)}" }
${nodeRed}
`);
}

/** A real HTTP server that keeps what it is sent, by path. */
async function startSink(): Promise<{ url: string; received: { path: string; body: string }[]; close(): Promise<void> }> {
  const received: { path: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A WebSocket handshake by hand: 101 when the server upgrades, else its HTTP status. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers },
    });
    req.on('upgrade', (res: IncomingMessage, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // A server without an upgrade handler may just drop the socket: no upgrade either.
    req.on('error', () => resolve(0));
    req.end();
  });
}

describe('Node-RED embedded in the ingest', () => {
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let station: MqttClient | undefined;
  let deploys = 0;
  /**
   * Full deploy through the admin API. Node-RED answers before the new flows have started, so each deploy carries
   * a probe endpoint; the flows are running once it answers.
   */
  const deploy = async (flows: unknown[]) => {
    const probe = `probe-${++deploys}`;
    const res = await fetch(`${ingest.httpUrl}flows/flows`, {
      method: 'POST',
      headers: { ...bearer('admin'), 'content-type': 'application/json', 'node-red-deployment-type': 'full' },
      body: JSON.stringify([
        ...flows,
        { id: `${probe}-tab`, type: 'tab', label: 'probe' },
        { id: `${probe}-in`, type: 'http in', z: `${probe}-tab`, url: `/${probe}`, method: 'get', wires: [[`${probe}-out`]] },
        { id: `${probe}-out`, type: 'http response', z: `${probe}-tab`, wires: [] },
      ]),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    await eventually(async () => ((await fetch(`${ingest.httpUrl}flows/http/${probe}`, { headers: bearer('operator') })).status === 200 ? true : undefined), 10_000, `flows of deploy ${deploys} started`);
  };
  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetch(`${ingest.httpUrl}${path}`, { method: 'POST', headers, body });

  beforeAll(async () => {
    sink = await startSink();
    ingest = await startTestIngest({ config: await configYaml('node_red: { enabled: true, http_in_access: operator }') });
  });
  afterAll(async () => {
    await station?.endAsync();
    await ingest?.cleanup();
    await sink?.close();
  });

  it('refuses /flows without a token (401), to a viewer or an operator (403), and serves it to an admin', async () => {
    for (const path of ['flows/', 'flows/flows', 'flows/settings']) {
      expect((await fetch(`${ingest.httpUrl}${path}`)).status, path).toBe(401);
      expect((await fetch(`${ingest.httpUrl}${path}`, { headers: bearer('viewer') })).status, path).toBe(403);
      expect((await fetch(`${ingest.httpUrl}${path}`, { headers: bearer('operator') })).status, path).toBe(403);
      expect((await fetch(`${ingest.httpUrl}${path}`, { headers: bearer('admin') })).status, path).toBe(200);
    }
    expect((await fetch(`${ingest.httpUrl}flows/flows`, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);
    // A forged header for Node-RED's own check does not get past the gate.
    expect((await fetch(`${ingest.httpUrl}flows/flows`, { headers: { 'x-envmon-node-red-token': TOKENS.viewer } })).status).toBe(401);
    // The editor's WebSocket: refused before Node-RED sees it, upgraded for an admin.
    const comms = `${ingest.httpUrl}flows/comms`;
    expect(await upgradeStatus(comms, {})).toBe(401);
    expect(await upgradeStatus(comms, bearer('viewer'))).toBe(403);
    expect(await upgradeStatus(comms, bearer('admin'))).toBe(101);
    // Our nodes are installed.
    const nodes = (await (await fetch(`${ingest.httpUrl}flows/nodes`, { headers: { ...bearer('admin'), accept: 'application/json' } })).json()) as { types: string[] }[];
    expect(nodes.flatMap((n) => n.types)).toEqual(expect.arrayContaining(['envmon in', 'envmon alarm', 'envmon write', 'envmon query']));
    // The rest of the server is untouched.
    expect((await fetch(`${ingest.httpUrl}healthz`)).status).toBe(200);
    expect((await fetch(`${ingest.httpUrl}api/v1/admin/flows/export`, { headers: bearer('viewer') })).status).toBe(403);
  });

  it('a deployed flow forwards MQTT readings (filtered by station and parameter) and alarms to an HTTP sink', async () => {
    await deploy([
      { id: 't1', type: 'tab', label: 'forward' },
      { id: 'in1', type: 'envmon in', z: 't1', stations: 'S1', params: 'PM2_5', output: 'reading', wires: [['req1']] },
      { id: 'al1', type: 'envmon alarm', z: 't1', stations: '', actions: 'raised', wires: [['req2']] },
      { id: 'req1', type: 'http request', z: 't1', method: 'POST', ret: 'txt', paytoqs: 'ignore', url: `${sink.url}/readings`, wires: [[]] },
      { id: 'req2', type: 'http request', z: 't1', method: 'POST', ret: 'txt', paytoqs: 'ignore', url: `${sink.url}/alarms`, wires: [[]] },
    ]);
    station = await connectStation(ingest.mqttUrl, 'S1');
    const t = Date.now() - 5_000;
    const batch = {
      station: 'S1',
      seq: 1,
      sent_at: Date.now(),
      readings: [
        { param: 'PM2_5', time: t, value: 21.5, status: 0, qc_flags: 0, period_s: 0 },
        { param: 'PM10', time: t, value: 40, status: 0, qc_flags: 0, period_s: 0 },
        { param: 'PM2_5', time: t + 1000, value: 22.5, status: 0, qc_flags: 0, period_s: 0 },
      ],
    };
    await station.publishAsync('envmon/v1/S1/data', JSON.stringify(batch), { qos: 1 });
    const got = await eventually(() => {
      const r = sink.received.filter((x) => x.path === '/readings');
      return r.length >= 2 ? r : undefined;
    }, 10_000, 'two PM2_5 readings at the sink');
    const bodies = got.map((r) => JSON.parse(r.body) as { station: string; param: string; time: number; value: number });
    expect(bodies.map((b) => [b.station, b.param, b.time, b.value])).toEqual([
      ['S1', 'PM2_5', t, 21.5],
      ['S1', 'PM2_5', t + 1000, 22.5],
    ]);
    // PM10 was filtered out (it arrived in the same batch, before the second PM2_5).
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.received.filter((x) => x.path === '/readings')).toHaveLength(2);

    ingest.hub.publish({
      type: 'alarm',
      station: 'S1',
      action: 'acknowledged',
    });
    ingest.hub.publish({
      type: 'alarm',
      station: 'S1',
      action: 'raised',
      alarm: { id: 7, severity: 'major', param: 'PM2_5', detail: '1 h mean 80 > 50' } as never,
    });
    const alarm = await eventually(() => sink.received.find((x) => x.path === '/alarms'), 10_000, 'the alarm at the sink');
    expect(JSON.parse(alarm.body)).toMatchObject({ station: 'S1', action: 'raised', alarm: { id: 7 } });
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.received.filter((x) => x.path === '/alarms')).toHaveLength(1); // "acknowledged" was not asked for
  });

  it('envmon write stores a good reading and rejects a bad one with its reason; envmon query reads it back', async () => {
    await deploy([
      { id: 't2', type: 'tab', label: 'write' },
      { id: 'hin', type: 'http in', z: 't2', url: '/readings', method: 'post', wires: [['w1']] },
      { id: 'w1', type: 'envmon write', z: 't2', station: 'S1', wires: [['hout']] },
      { id: 'hout', type: 'http response', z: 't2', wires: [] },
      { id: 'qin', type: 'http in', z: 't2', url: '/series', method: 'get', wires: [['q1']] },
      { id: 'q1', type: 'envmon query', z: 't2', mode: 'series', station: 'S1', param: 'PM2_5', last: '1h', every: '', agg: 'mean', wires: [['hout2']] },
      { id: 'hout2', type: 'http response', z: 't2', wires: [] },
    ]);
    const t = Date.now() - 60_000;
    const json = { ...bearer('operator'), 'content-type': 'application/json' };
    // The flows' own endpoints follow node_red.http_in_access (operator here).
    expect((await post('flows/http/readings', '{}', { 'content-type': 'application/json' })).status).toBe(401);
    expect((await post('flows/http/readings', '{}', { ...bearer('viewer'), 'content-type': 'application/json' })).status).toBe(403);

    const good = await post('flows/http/readings', JSON.stringify({ param: 'PM2_5', time: new Date(t).toISOString(), value: '33.3' }), json);
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ accepted: 1, rejected: [] });
    const storedAt = async (param: string, time: number) => (await ingest.store.series({ station: 'S1', param, from: time, to: time + 1 })).points[0];
    const stored = await eventually(() => storedAt('PM2_5', t), 10_000, 'the written reading in the store');
    expect(stored.value).toBeCloseTo(33.3);

    const bad = await post(
      'flows/http/readings',
      JSON.stringify([
        { param: 'PM2_5', time: t + 1000, value: 5_000_000 },
        { param: 'SO2', time: t + 1000, value: 10 },
        { param: 'PM10', time: t + 1000, value: 12 },
        { station: 'NOPE', param: 'PM10', time: t, value: 1 },
        { param: 'PM10', time: 'yesterday at noon', value: 3 },
      ]),
      json,
    );
    const outcome = (await bad.json()) as { accepted: number; rejected: { station: string; param: string; reason: string; detail: string }[] };
    expect(outcome.accepted).toBe(1);
    expect(outcome.rejected.map((r) => [r.station, r.param, r.reason])).toEqual([
      ['S1', 'PM2_5', 'out_of_range'],
      ['S1', 'SO2', 'param_not_configured'],
      ['NOPE', 'PM10', 'unknown_station'],
      ['S1', 'PM10', 'schema'], // a malformed reading is judged alone: its neighbours are kept
    ]);
    expect(outcome.rejected[0]!.detail).toMatch(/5000000/);
    // Quarantined like MQTT input, under the node's topic.
    const rejects = (await (await fetch(`${ingest.httpUrl}api/v1/rejects?station=S1&reason=out_of_range`, { headers: bearer('viewer') })).json()) as {
      items: { topic: string; reason: string }[];
    };
    expect(rejects.items.some((r) => r.topic.startsWith('node-red/write#w1'))).toBe(true);
    // The good reading of the same request is stored, the bad one is not.
    expect((await eventually(() => storedAt('PM10', t + 1000), 10_000, 'the PM10 of the mixed request')).value).toBe(12);
    expect(await storedAt('PM2_5', t + 1000)).toBeUndefined();

    const series = (await (await fetch(`${ingest.httpUrl}flows/http/series`, { headers: bearer('operator') })).json()) as { mode: string; points: { time: number; value: number }[] };
    expect(series.mode).toBe('series');
    expect(series.points.find((p) => p.time === t)?.value).toBeCloseTo(33.3);
  });

  it('the example flows work: lab CSV import, hourly aggregates to a REST API, alarms to a chat webhook', async () => {
    const load = (name: string) => JSON.parse(readFileSync(new URL(name, EXAMPLES), 'utf8')) as { id: string; type: string }[];
    process.env.ENVMON_CHAT_WEBHOOK_URL = `${sink.url}/chat`;
    process.env.ENVMON_AGGREGATES_URL = `${sink.url}/aggregates`;
    process.env.ENVMON_EXPORT_STATIONS = 'S2';
    await deploy([...load('lab-csv-import.json'), ...load('hourly-aggregates-to-rest.json'), ...load('alarms-to-chat-webhook.json')]);

    // Lab CSV: local Vietnam times, the previous hour; one unknown parameter.
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    const csv = [
      'station,param,time,value,status',
      `S2,COD,${local(hour + 600_000)},40,00`,
      `S2,COD,${local(hour + 1_200_000)},50,00`,
      `S2,PH,${local(hour + 600_000)},7.2,`,
      `S2,XYZ,${local(hour + 600_000)},1,00`,
    ].join('\n');
    const res = await post('flows/http/lab-csv', csv, { ...bearer('operator'), 'content-type': 'text/csv' });
    const body = (await res.json()) as { accepted: number; rejected: { param: string; reason: string }[] };
    expect(res.status).toBe(422);
    expect(body.accepted).toBe(3);
    expect(body.rejected.map((r) => [r.param, r.reason])).toEqual([['XYZ', 'unknown_param']]);
    await eventually(async () => ((await ingest.store.count('S2')) >= 3 ? true : undefined), 10_000, 'lab rows in the store');

    // Hourly aggregates: press the inject button through the admin API instead of waiting for hh:05.
    expect((await post('flows/inject/envmon.ex.hourly.tick', '{}', { ...bearer('admin'), 'content-type': 'application/json' })).status).toBe(200);
    const agg = await eventually(() => sink.received.find((x) => x.path === '/aggregates'), 10_000, 'aggregates at the REST API');
    const records = (JSON.parse(agg.body) as { station: string; records: { parameter: string; hour_start: string; mean: number; count: number }[] }).records;
    expect(records.map((r) => [r.parameter, r.hour_start, r.mean, r.count])).toEqual([
      ['COD', new Date(hour).toISOString(), 45, 2],
      ['PH', new Date(hour).toISOString(), 7.2, 1],
    ]);

    // Alarms to chat: one line of text.
    ingest.hub.publish({ type: 'alarm', station: 'S2', action: 'raised', alarm: { id: 9, severity: 'critical', param: 'COD', detail: 'COD 300 > 150', raised_at: hour } as never });
    const chat = await eventually(() => sink.received.find((x) => x.path === '/chat'), 10_000, 'the chat message');
    expect(JSON.parse(chat.body).text).toMatch(/^\[critical\] S2 COD raised — COD 300 > 150/);
  });

  it('keeps flows in the data directory with credentials encrypted, and exports them without credentials', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    await deploy([
      { id: 't3', type: 'tab', label: 'credentials' },
      { id: 'r3', type: 'http request', z: 't3', method: 'GET', url: `${sink.url}/x`, authType: 'basic', credentials: { user: 'lab', password }, wires: [[]] },
    ]);
    const dir = join(ingest.dataDir, 'node-red');
    expect(ingest.nodeRed?.userDir).toBe(dir);
    const flows = readFileSync(join(dir, 'flows.json'), 'utf8');
    expect(flows).toContain('"r3"');
    expect(flows).not.toContain(password);
    const creds = readFileSync(join(dir, 'flows_cred.json'), 'utf8');
    expect(JSON.parse(creds)).toHaveProperty('$');
    expect(creds).not.toContain(password);
    expect(creds).not.toContain('lab');
    // Generated secret, readable by the owner only.
    expect(statSync(join(dir, 'credential-secret')).mode & 0o077).toBe(0);
    // The editor asks for credentials and gets only whether a password is set.
    const editorCreds = (await (await fetch(`${ingest.httpUrl}flows/credentials/http-request/r3`, { headers: bearer('admin') })).json()) as Record<string, unknown>;
    expect(editorCreds).toEqual({ user: 'lab', has_password: true });

    const res = await fetch(`${ingest.httpUrl}api/v1/admin/flows/export`, { headers: bearer('admin') });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('flows.json');
    const text = await res.text();
    const exported = JSON.parse(text) as { id: string; credentials?: unknown }[];
    expect(exported.map((n) => n.id).slice(0, 2)).toEqual(['t3', 'r3']);
    expect(text).not.toContain(password);
    expect(exported.some((n) => 'credentials' in n)).toBe(false);
  });

  it('the editor loads in headless Chromium for an admin signed in on the dashboard, without "lost connection"', async () => {
    await deploy([
      { id: 't4', type: 'tab', label: 'Editor check' },
      { id: 'in4', type: 'envmon in', z: 't4', name: 'S1 PM2.5', stations: 'S1', params: 'PM2_5', x: 160, y: 80, wires: [['dbg4']] },
      { id: 'dbg4', type: 'debug', z: 't4', name: 'readings', active: true, tosidebar: true, complete: 'payload', x: 400, y: 80, wires: [] },
    ]);
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext({ viewport: { width: 1400, height: 850 } });
      const page = await context.newPage();
      // Without a session: the gate's sign-in page, not the editor.
      const anonymous = await page.goto(`${ingest.httpUrl}flows/`);
      expect(anonymous?.status()).toBe(401);
      await expect(page.locator('h1').textContent()).resolves.toContain('admin sign-in');
      // Sign in as the dashboard does (HttpOnly cookie), then open the editor.
      const signIn = await page.request.post(`${ingest.httpUrl}api/v1/session`, { data: { token: TOKENS.admin } });
      expect(signIn.status()).toBe(200);
      await page.goto(`${ingest.httpUrl}flows/`);
      await page.locator('.red-ui-palette-node[data-palette-type="envmon in"]').waitFor({ timeout: 20_000 });
      await page.locator('#red-ui-workspace-tabs').getByText('Editor check').waitFor({ timeout: 10_000 });
      // A node status only arrives over the comms WebSocket: the connection is up and signed in.
      await page.locator('.red-ui-flow-node-status-label').filter({ hasText: 'S1' }).first().waitFor({ timeout: 10_000 });
      // A reading published now reaches the debug sidebar over the same socket.
      station ??= await connectStation(ingest.mqttUrl, 'S1');
      await station.publishAsync(
        'envmon/v1/S1/data',
        JSON.stringify({ station: 'S1', seq: 99, sent_at: Date.now(), readings: [{ param: 'PM2_5', time: Date.now() - 1000, value: 77.7, status: 0, qc_flags: 0, period_s: 0 }] }),
        { qos: 1 },
      );
      await page.locator('#red-ui-tab-debug-link-button').click().catch(() => undefined);
      await page.locator('.red-ui-debug-msg').filter({ hasText: '77.7' }).first().waitFor({ timeout: 10_000 });
      await page.waitForTimeout(500);
      expect(await page.getByText(/lost connection/i).count()).toBe(0);
      await screenshot(page, 'node-red/editor');
    } finally {
      await browser.close();
    }
  });
});

describe('Node-RED switched off', () => {
  it('answers /flows with 404 when node_red.enabled is false and when the section is missing', async () => {
    for (const section of ['node_red: { enabled: false }', '']) {
      const ingest = await startTestIngest({ config: await configYaml(section) });
      try {
        for (const path of ['flows', 'flows/', 'flows/flows', 'flows/settings']) {
          expect((await fetch(`${ingest.httpUrl}${path}`, { headers: bearer('admin') })).status, `${section || 'no section'} ${path}`).toBe(404);
        }
        expect((await fetch(`${ingest.httpUrl}api/v1/admin/flows/export`, { headers: bearer('admin') })).status).toBe(404);
        expect(ingest.nodeRed).toBeUndefined();
        expect(existsSync(join(ingest.dataDir, 'node-red'))).toBe(false);
        expect(await upgradeStatus(`${ingest.httpUrl}flows/comms`, bearer('admin'))).not.toBe(101);
      } finally {
        await ingest.cleanup();
      }
    }
  });
});
