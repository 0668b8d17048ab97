import { describe, expect, it } from 'vitest';
import { influxdSkipReason, patchToml, startInfluxd, type RunningInfluxd } from './influxd.ts';

describe('patchToml', () => {
  it('replaces keys per section, appends missing ones, and leaves [[array]] sections alone', () => {
    const text = ['bind-address = "127.0.0.1:8088"', '', '[http]', '  bind-address = ":8086"', '', '[[udp]]', '  bind-address = ":8089"'].join('\n');
    const out = patchToml(text, {
      '': { 'bind-address': '"127.0.0.1:1"', 'reporting-disabled': 'true' },
      http: { 'bind-address': '"127.0.0.1:2"', 'log-enabled': 'false' },
      monitor: { 'store-enabled': 'false' },
    });
    expect(out.split('\n')).toEqual([
      'bind-address = "127.0.0.1:1"',
      '',
      'reporting-disabled = true',
      '[http]',
      '  bind-address = "127.0.0.1:2"',
      '',
      '  log-enabled = false',
      '[[udp]]',
      '  bind-address = ":8089"',
      '[monitor]',
      '  store-enabled = false',
    ]);
  });
});

describe.skipIf(influxdSkipReason() !== undefined)('startInfluxd', () => {
  it('runs two servers side by side (HTTP and RPC ports both moved) and stops them', async () => {
    const started = await Promise.allSettled([startInfluxd(), startInfluxd({ database: 'other' })]);
    const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(running.map((s) => s.stop()));
      throw failed.reason;
    }
    const [a, b] = running as [RunningInfluxd, RunningInfluxd];
    try {
      expect(a.url).not.toBe(b.url);
      for (const s of [a, b]) {
        expect((await fetch(`${s.url}/ping`)).status).toBe(204);
        const dbs = (await (await fetch(`${s.url}/query?q=SHOW%20DATABASES`)).json()) as { results: { series: { values: string[][] }[] }[] };
        expect(dbs.results[0]?.series[0]?.values.flat()).toContain(s.database);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    await expect(fetch(`${a.url}/ping`)).rejects.toThrow();
  });
});
