import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStoreFromEnv } from './index.ts';

// The InfluxDB branch is tested against a real influxd in influx-store.test.ts.
describe('openStoreFromEnv without InfluxDB', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'envmon-store-index-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens SQLite at <dataDir>/store.sqlite when INFLUX_URL is unset or blank', async () => {
    for (const env of [{}, { INFLUX_URL: '  ', INFLUX_DATABASE: 'ignored' }]) {
      const store = await openStoreFromEnv(dir, env);
      expect(store.kind).toBe('sqlite');
      await store.close();
    }
    expect(existsSync(join(dir, 'store.sqlite'))).toBe(true);
  });
});
