/**
 * Store selection: InfluxDB when a URL is configured, else the embedded SQLite file in the data directory, so a
 * fresh install works with nothing else running and production points at InfluxDB by setting one variable.
 */
import { join } from 'node:path';
import { openInfluxStore, type InfluxStoreOptions } from './influx-store.ts';
import { openSqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

export type * from './store.ts';
export { openSqliteStore, type SqliteStore } from './sqlite-store.ts';
export { openInfluxStore, InfluxError, type InfluxStore, type InfluxStoreOptions } from './influx-store.ts';

export interface StoreConfig {
  /** ENVMON_DATA_DIR: the SQLite store lives at `<dataDir>/store.sqlite`. */
  dataDir: string;
  /** When `influx.url` is set, InfluxDB is the store. */
  influx?: Partial<InfluxStoreOptions>;
}

/**
 * Opens the configured store. For InfluxDB 1.x it creates the database when missing (so a new server needs no
 * manual step); that call needs the server up and fails with an `InfluxError` otherwise — the caller decides
 * whether to retry or start without it.
 */
export async function openStore(config: StoreConfig): Promise<Store> {
  const url = config.influx?.url;
  if (url) {
    const store = openInfluxStore({ ...config.influx, url });
    await store.ensureDatabase();
    return store;
  }
  return openSqliteStore(join(config.dataDir, 'store.sqlite'));
}

/** The same, from INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET / INFLUX_DATABASE (names in DESIGN.md). */
export async function openStoreFromEnv(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  const set = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const url = set(env.INFLUX_URL);
  if (!url) return openStore({ dataDir });
  const influx: Partial<InfluxStoreOptions> = { url };
  const token = set(env.INFLUX_TOKEN);
  const org = set(env.INFLUX_ORG);
  const bucket = set(env.INFLUX_BUCKET);
  const database = set(env.INFLUX_DATABASE);
  if (token) influx.token = token;
  if (org) influx.org = org;
  if (bucket) influx.bucket = bucket;
  if (database) influx.database = database;
  return openStore({ dataDir, influx });
}
