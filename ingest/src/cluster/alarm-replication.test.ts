import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisSkipReason, startRedis, type RunningRedis } from '../../test/support/redis-server.ts';
import { openAlarmDb, AlarmStore } from '../alarms/alarm-db.ts';
import { AlarmReplication } from './alarm-replication.ts';
import { redisOptions } from './redis-backend.ts';
import { leaseKey } from './station-leases.ts';

/**
 * The replicated alarm database against a real redis-server: rows reach the other copies with their ids; the
 * fence refuses what a former owner ships after another instance took its station (its copy is rebuilt to the
 * cluster's state); an operator's action passes the fence; a new copy starts from the hash, not the stream.
 */
const skip = redisSkipReason();

describe.skipIf(skip)('alarm replication through Redis', () => {
  let redis: RunningRedis;
  let dir: string;
  const connections: Redis[] = [];
  const copies: { db: ReturnType<typeof openAlarmDb>; store: AlarmStore; repl: AlarmReplication }[] = [];

  const connect = () => {
    const r = new Redis({ ...redisOptions(redis.url), maxRetriesPerRequest: null });
    connections.push(r);
    return r;
  };
  const copy = async (id: string, firstId: number, o: { prefix?: string; before?: (store: AlarmStore) => void; discardLocalRows?: boolean } = {}) => {
    const db = openAlarmDb(join(dir, `${id}.sqlite`));
    let next = firstId;
    const store = new AlarmStore(db, () => next++);
    o.before?.(new AlarmStore(db));
    const repl = new AlarmReplication({ db, redis: connect(), reader: connect(), instanceId: id, leaseKey: (s) => leaseKey(s), ...(o.prefix ? { prefix: o.prefix } : {}), discardLocalRows: o.discardLocalRows ?? false });
    try {
      await repl.start();
    } catch (err) {
      await repl.stop();
      db.close();
      throw err;
    }
    const c = { db, store, repl };
    copies.push(c);
    return c;
  };
  const raise = (store: AlarmStore, station: string, param = 'PM2_5') =>
    store.transaction(() => {
      const a = store.insert({ rule: 'r', rule_name: { vi: 'r', en: 'r' }, kind: 'threshold', severity: 'major', station, param, raised_at: 1, value: 150, limit: null, detail: 'over', now: 1 });
      store.addHistory(a.id, 1, 'raised', null, 'over');
      return a;
    });
  const own = (station: string, instance: string) => connections[0]!.set(leaseKey(station), instance, 'PX', 60_000);

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'envmon-repl-'));
  }, 20_000);
  afterAll(async () => {
    for (const c of copies) await c.repl.stop();
    for (const c of copies) c.db.close();
    for (const r of connections) r.disconnect();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships an owner’s rows to the other copy with the same ids', async () => {
    const a = await copy('A', 1000);
    const b = await copy('B', 2000);
    await own('S1', 'A');
    const alarm = raise(a.store, 'S1');
    await a.repl.flush();
    await b.repl.caughtUp();
    expect(b.store.get(alarm.id)).toEqual(alarm);
    expect(b.store.history(alarm.id).map((h) => [h.id, h.action])).toEqual(a.store.history(alarm.id).map((h) => [h.id, h.action]));
  });

  it('refuses what a former owner ships after another took the station, and rebuilds its copy', async () => {
    const [a, b] = copies as [(typeof copies)[0], (typeof copies)[0]];
    const [alarm] = a.store.list({ station: 'S1' });
    await own('S1', 'B'); // A stalled past its lease; B owns S1 now and clears the alarm
    b.store.transaction(() => b.store.update(alarm!.id, { state: 'cleared', cleared_at: 5, updated_at: 5 }));
    await b.repl.flush();
    // A, not knowing yet, raises a second alarm and re-raises the first one: both refused by the fence.
    a.store.transaction(() => a.store.update(alarm!.id, { occurrences: 2, updated_at: 6 }));
    const ghost = raise(a.store, 'S1', 'NO2');
    await a.repl.flush();
    await a.repl.caughtUp();
    await expect.poll(() => a.repl.counters.full_syncs, { timeout: 5000 }).toBe(1);
    await a.repl.caughtUp();
    expect(a.repl.counters.fenced).toBeGreaterThanOrEqual(3);
    // A's copy is the cluster's again: no ghost, the clearing by B, not A's re-raise.
    expect(a.store.get(ghost.id)).toBeUndefined();
    expect(a.store.get(alarm!.id)).toMatchObject({ state: 'cleared', occurrences: 1 });
    await b.repl.caughtUp();
    expect(b.store.get(ghost.id)).toBeUndefined();
    expect(b.store.get(alarm!.id)).toMatchObject({ state: 'cleared', occurrences: 1 });
  });

  it('lets an operator act on any instance: an acknowledgement passes the fence', async () => {
    const [a, b] = copies as [(typeof copies)[0], (typeof copies)[0]];
    const [alarm] = b.store.list({ station: 'S1' });
    a.repl.asOperator(() => a.store.update(alarm!.id, { state: 'closed', acknowledged_by: 'duty', acknowledged_at: 7, closed_at: 7, updated_at: 7 }));
    await a.repl.flush();
    await b.repl.caughtUp();
    expect(b.store.get(alarm!.id)).toMatchObject({ state: 'closed', acknowledged_by: 'duty' });
  });

  it('starts a new copy from the cluster state in the hash', async () => {
    const c = await copy('C', 3000);
    expect(c.repl.counters.full_syncs).toBe(1);
    const [a] = copies;
    expect(c.store.list({})).toEqual(a!.store.list({}));
    expect(c.store.list({}).length).toBeGreaterThan(0);
  });

  it('starts a new cluster with the alarms of the single server its first instance was', async () => {
    let old: ReturnType<typeof raise> | undefined;
    const first = await copy('solo', 4000, { prefix: 'envmon:grown:', before: (store) => (old = raise(store, 'S9')) });
    expect(old!.id).toBe(1); // AUTOINCREMENT, from before cluster mode
    await first.repl.flush();
    const second = await copy('second', 5000, { prefix: 'envmon:grown:' });
    expect(second.store.get(old!.id)).toEqual(old);
    expect(second.store.history(old!.id)).toHaveLength(1);
  });

  it('refuses to join a cluster that has state with alarms of its own the cluster lacks, rather than drop them', async () => {
    const opts = { prefix: 'envmon:merge:' };
    // The cluster's first instance brought the alarm of the server it was (AUTOINCREMENT id 1) and raised another.
    let seeded: ReturnType<typeof raise> | undefined;
    const first = await copy('first', 6000, { ...opts, before: (store) => (seeded = raise(store, 'M1')) });
    raise(first.store, 'M3'); // stations no earlier test leased (the fence would refuse the rows)
    await first.repl.flush();
    expect(await connections[0]!.hlen('envmon:merge:rows')).toBe(4);
    // A second server that ran alone (its own alarm and history, numbered from 1 as well) started after the cluster
    // has state: its alarm 1 is not the cluster's alarm 1 (their history rows 1 happen to read the same).
    let own: ReturnType<typeof raise> | undefined;
    await expect(copy('latecomer', 7000, { ...opts, before: (store) => (own = raise(store, 'M2')) })).rejects.toThrow(
      /holds rows the cluster does not have \(1 alarms\).*Start this instance first on an empty cluster.*discard_local_alarms/,
    );
    expect(own!.id).toBe(seeded!.id);
    const kept = openAlarmDb(join(dir, 'latecomer.sqlite'));
    expect(new AlarmStore(kept).get(own!.id)).toEqual(own); // its copy is untouched
    kept.close();
    // Told to, it joins without them: its copy becomes the cluster's.
    const joined = await copy('latecomer', 7000, { ...opts, discardLocalRows: true });
    expect(joined.store.list({})).toEqual(first.store.list({}));
    // A fresh instance (no rows of its own) joins without a word.
    const fresh = await copy('fresh', 8000, opts);
    expect(fresh.store.list({})).toEqual(first.store.list({}));
    // Rows a copy shipped itself are the cluster's as they are: a copy that never recorded a stream position (killed
    // before its first read) starts again without a refusal, and keeps them.
    const shipped = raise(fresh.store, 'M4');
    await fresh.repl.flush();
    await fresh.repl.stop();
    copies.splice(copies.indexOf(fresh), 1);
    fresh.db.prepare(`UPDATE repl_ctl SET position = '0'`).run();
    fresh.db.close();
    const again = await copy('fresh', 9000, opts);
    expect(again.store.get(shipped.id)).toEqual(shipped);
  });
});
