import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxdSkipReason, startInfluxd, type RunningInfluxd } from '../../test/support/influxd.ts';
import { escapeTag, influxString, InfluxError, openInfluxStore, toLine } from './influx-store.ts';
import { openStoreFromEnv } from './index.ts';
import { describeStoreContract, T0 } from './store.contract.ts';
import type { StoredReading } from './store.ts';

// Under CI influxd is installed, so a missing binary makes startInfluxd() throw and the file fail; only a local
// machine without it skips, and says why.
const skipReason = influxdSkipReason();
if (skipReason) console.warn(skipReason);

const reading = (extra: Partial<StoredReading> = {}): StoredReading => ({
  station: 'ST1',
  param: 'PM10',
  time: T0,
  value: 1.5,
  status: 0,
  qc_flags: 0,
  period_s: 0,
  ...extra,
});

describe.skipIf(skipReason !== undefined)('InfluxDB store against a real influxd 1.x', () => {
  let influxd: RunningInfluxd;
  let nextDb = 0;

  beforeAll(async () => {
    influxd = await startInfluxd();
  });
  afterAll(async () => {
    await influxd?.stop();
  });

  async function influxql(q: string, db?: string): Promise<unknown> {
    const params = new URLSearchParams({ q, epoch: 'ms', ...(db ? { db } : {}) });
    const res = await fetch(`${influxd.url}/query`, { method: 'POST', body: params });
    expect(res.status).toBe(200);
    return res.json();
  }

  /** A fresh database per test: CREATE is a few ms, and tests cannot see each other's points. */
  async function freshStore() {
    const database = `contract_${process.pid}_${nextDb++}`;
    const store = openInfluxStore({ url: influxd.url, database });
    await store.ensureDatabase();
    return { store, database, cleanup: async () => void (await influxql(`DROP DATABASE "${database}"`)) };
  }

  describeStoreContract('influx', freshStore);

  it('creates the database once, and finds it the second time', async () => {
    const store = openInfluxStore({ url: `${influxd.url}/`, database: 'made_by_ensure' });
    await store.ensureDatabase();
    await store.ensureDatabase();
    const dbs = (await influxql('SHOW DATABASES')) as { results: { series: { values: string[][] }[] }[] };
    expect(dbs.results[0]?.series[0]?.values.flat()).toContain('made_by_ensure');
    await store.write([reading()]);
    expect(await store.count()).toBe(1);
  });

  it('writes the agreed schema: measurement reading, tags station/param/period, fields value/status/qc', async () => {
    const { store, database, cleanup } = await freshStore();
    await store.write([reading({ value: 2.25, status: 1, qc_flags: 5, period_s: 60 }), reading({ time: T0 + 1000, value: null, status: 2 })]);
    const res = (await influxql(`SELECT * FROM reading GROUP BY *`, database)) as {
      results: { series: { tags: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
    };
    const series = res.results[0]?.series ?? [];
    expect(series.map((s) => s.tags)).toEqual([
      { param: 'PM10', period: '0', station: 'ST1' },
      { param: 'PM10', period: '60', station: 'ST1' },
    ]);
    expect(series.map((s) => [s.columns, s.values])).toEqual([
      [['time', 'qc', 'status', 'value'], [[T0 + 1000, 0, 2, null]]],
      [['time', 'qc', 'status', 'value'], [[T0, 5, 1, 2.25]]],
    ]);
    const types = (await influxql('SHOW FIELD KEYS FROM reading', database)) as { results: { series: { values: string[][] }[] }[] };
    expect(types.results[0]?.series[0]?.values).toEqual([
      ['qc', 'integer'],
      ['status', 'integer'],
      ['value', 'float'],
    ]);
    await store.close();
    await cleanup();
  });

  it('escapes tag values in writes and in queries (no InfluxQL injection)', async () => {
    const { store, cleanup } = await freshStore();
    const odd = "a b,c=d'e";
    await store.write([reading({ station: odd, value: 7 }), reading({ station: 'other', value: 8 })]);
    expect((await store.latest({ station: odd })).map((x) => [x.station, x.value])).toEqual([[odd, 7]]);
    // A classic injection attempt must match nothing rather than widen the query to every station.
    expect(await store.latest({ station: "x' OR station =~ /.*/ OR station = 'y" })).toEqual([]);
    expect(await store.count("x' OR station =~ /.*/ OR station = 'y")).toBe(0);
    expect(await store.count(odd)).toBe(1);
    await store.close();
    await cleanup();
  });

  it('turns a field type conflict into an InfluxError with status 400 and the server message', async () => {
    const { store, database, cleanup } = await freshStore();
    // Someone else wrote `value` as a string into the same measurement: our float no longer fits.
    const pre = await fetch(`${influxd.url}/write?db=${database}&precision=ms`, {
      method: 'POST',
      body: `reading,param=PM10,period=0,station=ST0 value="oops",status=0i,qc=0i ${T0}`,
    });
    expect(pre.status).toBe(204);
    const err = await store.write([reading(), reading({ station: 'ST2', value: null })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfluxError);
    expect((err as InfluxError).status).toBe(400);
    expect((err as InfluxError).serverMessage).toMatch(/field type conflict/);
    expect((err as InfluxError).message).toMatch(/HTTP 400.*field type conflict/);
    // "partial write": the point without a value field went in, the conflicting one did not.
    expect(await store.count('ST2')).toBe(1);
    expect(await store.count('ST1')).toBe(0);
    await store.close();
    await cleanup();
  });

  it('reports a write to a missing database as a 404 and an unreachable server as status 0', async () => {
    const missing = openInfluxStore({ url: influxd.url, database: 'does_not_exist' });
    const e404 = await missing.write([reading()]).catch((e: unknown) => e);
    expect(e404).toMatchObject({ name: 'InfluxError', status: 404 });
    expect((e404 as InfluxError).serverMessage).toMatch(/database not found/);
    const e400 = await missing.series({ station: 'ST1', param: 'PM10', from: T0, to: T0 + 1 }).catch((e: unknown) => e);
    expect(e400).toMatchObject({ name: 'InfluxError' });
    expect((e400 as InfluxError).message).toMatch(/database not found/);

    const down = openInfluxStore({ url: 'http://127.0.0.1:9', database: 'x', timeoutMs: 2000 });
    await expect(down.write([reading()])).rejects.toMatchObject({ name: 'InfluxError', status: 0 });
  });

  it('openStoreFromEnv picks InfluxDB when INFLUX_URL is set', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'envmon-store-env-'));
    try {
      const store = await openStoreFromEnv(dataDir, { INFLUX_URL: influxd.url, INFLUX_DATABASE: 'from_env' });
      expect(store.kind).toBe('influx');
      await store.write([reading()]);
      expect(await store.count()).toBe(1);
      await store.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('line protocol and InfluxQL escaping', () => {
  it('escapes comma, equals and space in tags and refuses what 1.x and 2.x read differently', () => {
    expect(escapeTag('a b,c=d')).toBe('a\\ b\\,c\\=d');
    expect(() => escapeTag('a\\')).toThrow(/backslash/);
    expect(() => escapeTag('a\nb')).toThrow(/control/);
    expect(() => escapeTag('')).toThrow(/empty/);
  });

  it('builds one line per reading, omitting value when null', () => {
    expect(toLine(reading({ value: 1e21, qc_flags: 3 }))).toBe(`reading,param=PM10,period=0,station=ST1 value=1e+21,status=0i,qc=3i ${T0}`);
    expect(toLine(reading({ value: null, status: 2, period_s: 300 }))).toBe(`reading,param=PM10,period=300,station=ST1 status=2i,qc=0i ${T0}`);
  });

  it('quotes InfluxQL strings', () => {
    expect(influxString("it's")).toBe("'it\\'s'");
    expect(influxString('a\\b\nc')).toBe("'a\\\\b\\nc'");
  });
});

// No InfluxDB 2.x/3.x is packaged for Debian here; this pins the request shape those servers document
// (/api/v2/write with org, bucket, precision and a Token header; InfluxQL on /query with db = bucket via DBRP).
describe('InfluxDB 2.x/3.x mode: the requests it sends', () => {
  it('writes to /api/v2/write with org, bucket and token, and reads /query with db = bucket', async () => {
    const seen: { method: string; url: string; auth: string | undefined; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
        if (req.url?.startsWith('/api/v2/write')) {
          res.writeHead(204).end();
        } else {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ results: [{ statement_id: 0 }] }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const store = openInfluxStore({ url, bucket: 'env', org: 'agency', token: 's3cret' });
      await store.ensureDatabase(); // bucket mode: nothing to create, no request
      await store.write([reading()]);
      expect(await store.count('ST1')).toBe(0);

      expect(seen).toHaveLength(2);
      const [write, query] = seen;
      const w = new URL(write?.url ?? '', url);
      expect([write?.method, w.pathname, Object.fromEntries(w.searchParams)]).toEqual(['POST', '/api/v2/write', { precision: 'ms', bucket: 'env', org: 'agency' }]);
      expect(write?.auth).toBe('Token s3cret');
      expect(write?.body).toBe(`reading,param=PM10,period=0,station=ST1 value=1.5,status=0i,qc=0i ${T0}`);
      const q = new URL(query?.url ?? '', url);
      expect([q.pathname, q.searchParams.get('db'), q.searchParams.get('epoch'), query?.auth]).toEqual(['/query', 'env', 'ms', 'Token s3cret']);
      expect(q.searchParams.get('q')).toBe("SELECT count(status) FROM reading WHERE station = 'ST1'");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('InfluxDB 2.x/3.x mode: failures reach the writer with status and Retry-After', () => {
  it('turns 429 + Retry-After and 400 + JSON message into InfluxError, without retrying inside the client', async () => {
    const answers = [
      { status: 429, headers: { 'Retry-After': '3' }, body: '' },
      { status: 400, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: 'invalid', message: 'partial write: field type conflict' }) },
    ];
    let requests = 0;
    const server = createServer((req: IncomingMessage, res) => {
      req.resume();
      req.on('end', () => {
        const a = answers[requests++]!;
        res.writeHead(a.status, a.headers).end(a.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const store = openInfluxStore({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bucket: 'env', org: 'agency', token: 't' });
      const first = await store.write([reading()]).catch((e: unknown) => e);
      expect(first).toBeInstanceOf(InfluxError);
      expect(first).toMatchObject({ status: 429, retryAfterMs: 3000 });
      const second = await store.write([reading()]).catch((e: unknown) => e);
      expect(second).toMatchObject({ status: 400, serverMessage: 'partial write: field type conflict' });
      expect(requests).toBe(2); // one request per write: the WAL writer owns retries
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
