import type Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Alarm state shared by a cluster (issue 10): every instance keeps a full copy of the alarm database
 * (<data dir>/alarms.sqlite); the copies converge through Redis.
 *
 * Writes stay synchronous SQLite transactions (the engine and notifier are unchanged). Triggers on the replicated
 * tables append each changed row, as JSON, to a local `repl_out` table *inside the same transaction* — an outbox —
 * and the shipper moves those rows to Redis and only then deletes them. One Lua script per shipment, atomically:
 * checks the fence, writes each row's latest version into the hash `envmon:alarms:rows` (the cluster's current
 * state, for instances that join or fell behind the stream) and appends the shipment to the stream
 * `envmon:alarms:log` (capped). Every instance reads the stream (XREAD) and applies the other instances' rows in one
 * transaction that also records the stream position, so each entry is applied once per copy, in stream order.
 *
 * Who may write which rows is decided by the station leases (station-leases.ts): only the owner of a station
 * evaluates its rules. The fence makes that hold in Redis too: a shipment whose rows belong to a station whose
 * lease another instance now holds is refused — an owner that stalled past its lease cannot overwrite what the new
 * owner did. Its refused rows are dropped, and its copy, which still holds them, is rebuilt from the hash
 * (`fullSync`). Operator actions (acknowledge, comment: `asOperator`) are not fenced: any instance may take them;
 * two instances changing the same alarm within the same few milliseconds resolve as last writer wins.
 *
 * Before a station changes hands the old owner ships everything (`flush()`), and the new owner waits until it has
 * applied the stream up to its end (`caughtUp()`); an owner killed with rows not yet shipped loses them, and the new
 * owner evaluates the readings again from its buffer (engine.ts: acquire) — which is why the notifier only sends a
 * message once the rows that queued it are shipped (`flush()` before sending). When the killed instance comes back,
 * its unshipped rows meet the fence, and its copy is rebuilt.
 */
export const REPLICATED_TABLES = ['alarms', 'alarm_history', 'rule_state', 'series_seen', 'station_seen', 'calibrations', 'notifications', 'escalations'] as const;

export interface AlarmReplicationOptions {
  db: Database.Database;
  /** For shipping and the hash. */
  redis: Redis;
  /** A second connection: XREAD BLOCK holds its connection. */
  reader: Redis;
  instanceId: string;
  /** The Redis key of a station's lease (station-leases.ts); shipments are fenced on it. */
  leaseKey(station: string): string;
  /** Key prefix; default `envmon:alarms:` (stream `log`, hash `rows`). */
  prefix?: string;
  /** Approximate cap on the stream (XADD MAXLEN ~); default 10,000 shipments. Behind it, an instance syncs from the hash. */
  maxLen?: number;
  /**
   * A new copy joining a cluster that has state is replaced by it. Rows of its own that the cluster lacks (alarms
   * from when it ran alone) make it refuse to start, unless this is set: then they are dropped, with a warning.
   */
  discardLocalRows?: boolean;
  log?: Logger;
}

interface Change {
  t: string;
  op: 'u' | 'd';
  row: Record<string, unknown>;
}

interface TableInfo {
  columns: string[];
  pk: string[];
  upsert: Database.Statement;
  remove: Database.Statement;
}

/**
 * KEYS: stream, rows hash, then the lease keys of the stations the shipment's non-operator rows belong to.
 * ARGV: instance id, stream cap, the shipment (JSON), then per row `u <field> <row JSON>` or `d <field>`.
 * Returns {1, entry id}, or {0, i} when the i-th lease is held by another instance (nothing written).
 */
const SHIP = `
for i = 3, #KEYS do
  local holder = redis.call('get', KEYS[i])
  if holder and holder ~= ARGV[1] then return {0, i - 2} end
end
local n = 4
while n <= #ARGV do
  if ARGV[n] == 'u' then
    redis.call('hset', KEYS[2], ARGV[n + 1], ARGV[n + 2])
    n = n + 3
  else
    redis.call('hdel', KEYS[2], ARGV[n + 1])
    n = n + 2
  end
end
return {1, redis.call('xadd', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'from', ARGV[1], 'changes', ARGV[3])}
`;

export class AlarmReplication {
  readonly streamKey: string;
  readonly rowsKey: string;
  /** Stream id of the last entry applied (or skipped as our own). */
  private position: string;
  private readonly tables = new Map<string, TableInfo>();
  private readonly s;
  private shipping: Promise<boolean> | undefined;
  private shipAgain = false;
  private stopped = false;
  /** While a full sync runs, what the reader gets is dropped (the sync's snapshot and position replace it). */
  private paused = false;
  private syncing: Promise<void> | undefined;
  private reading: Promise<void> | undefined;
  private shipTimer: NodeJS.Timeout | undefined;
  private readonly positionWaiters: { target: string; resolve: () => void }[] = [];
  readonly counters = { shipped: 0, applied: 0, entries_shipped: 0, entries_applied: 0, fenced: 0, full_syncs: 0, errors: 0 };

  constructor(private readonly o: AlarmReplicationOptions) {
    const prefix = o.prefix ?? 'envmon:alarms:';
    this.streamKey = `${prefix}log`;
    this.rowsKey = `${prefix}rows`;
    const db = o.db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS repl_out (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, op TEXT NOT NULL, row TEXT NOT NULL, origin TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE IF NOT EXISTS repl_ctl (
        k INTEGER PRIMARY KEY CHECK (k = 0),
        applying INTEGER NOT NULL,          -- 1 while rows from Redis are applied: the triggers stay quiet
        origin TEXT NOT NULL DEFAULT '',    -- 'op' while an operator action commits: not fenced
        position TEXT NOT NULL,             -- last stream entry applied
        diverged INTEGER NOT NULL DEFAULT 0 -- 1 when the copy holds rows the cluster refused: full sync on start
      );
      INSERT OR IGNORE INTO repl_ctl (k, applying, position) VALUES (0, 0, '0');
      -- A crash mid-apply rolls the flags back with the transaction; this covers a file copied mid-transaction.
      UPDATE repl_ctl SET applying = 0, origin = '';
    `);
    for (const t of REPLICATED_TABLES) {
      const info = this.installTable(t);
      if (info) this.tables.set(t, info);
    }
    this.s = {
      pending: db.prepare<[number], OutRow>(`SELECT seq, tbl, op, row, origin FROM repl_out ORDER BY seq LIMIT ?`),
      allPending: db.prepare<[], OutRow>(`SELECT seq, tbl, op, row, origin FROM repl_out ORDER BY seq`),
      shipped: db.prepare(`DELETE FROM repl_out WHERE seq <= ?`),
      drop: db.prepare(`DELETE FROM repl_out WHERE seq = ?`),
      anyPending: db.prepare<[], { seq: number }>(`SELECT seq FROM repl_out LIMIT 1`),
      setApplying: db.prepare(`UPDATE repl_ctl SET applying = ?`),
      setOrigin: db.prepare(`UPDATE repl_ctl SET origin = ?`),
      setPosition: db.prepare(`UPDATE repl_ctl SET position = ?`),
      setDiverged: db.prepare(`UPDATE repl_ctl SET diverged = ?`),
      ctl: db.prepare<[], { position: string; diverged: number }>(`SELECT position, diverged FROM repl_ctl`),
      alarmStation: db.prepare<[number], { station: string }>(`SELECT station FROM alarms WHERE id = ?`),
    };
    this.position = this.s.ctl.get()!.position;
  }

  /**
   * (Re)creates the triggers of one table from its current columns. Deletes carry the primary key only; inserts
   * and updates carry the whole row.
   */
  private installTable(table: string): TableInfo | undefined {
    const info = this.o.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string; pk: number }[];
    // The notifier's tables exist only when recipients are configured (every instance has the same config).
    if (info.length === 0) return undefined;
    const columns = info.map((c) => c.name);
    const pk = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const when = `WHEN (SELECT applying FROM repl_ctl) = 0`;
    const out = (op: 'u' | 'd', row: string) => `INSERT INTO repl_out (tbl, op, row, origin) VALUES ('${table}', '${op}', ${row}, (SELECT origin FROM repl_ctl))`;
    this.o.db.exec(`
      DROP TRIGGER IF EXISTS repl_${table}_ins;
      DROP TRIGGER IF EXISTS repl_${table}_upd;
      DROP TRIGGER IF EXISTS repl_${table}_del;
      CREATE TRIGGER repl_${table}_ins AFTER INSERT ON ${table} ${when} BEGIN ${out('u', rowJson(columns, 'NEW.'))}; END;
      CREATE TRIGGER repl_${table}_upd AFTER UPDATE ON ${table} ${when} BEGIN ${out('u', rowJson(columns, 'NEW.'))}; END;
      CREATE TRIGGER repl_${table}_del AFTER DELETE ON ${table} ${when} BEGIN ${out('d', rowJson(pk, 'OLD.'))}; END;
    `);
    return {
      columns,
      pk,
      // REPLACE also removes a row that conflicts on another unique key (one open alarm per station/param/rule,
      // one message per idempotency key): the cluster's version wins.
      upsert: this.o.db.prepare(`INSERT OR REPLACE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`),
      remove: this.o.db.prepare(`DELETE FROM ${table} WHERE ${pk.map((c) => `${c} = @${c}`).join(' AND ')}`),
    };
  }

  /**
   * Ships what is left from before (what the fence refuses is dropped), brings the copy up to date — from the
   * stream when it holds everything since this copy's position, else from the hash — then keeps reading and
   * shipping until `stop()`.
   */
  async start(): Promise<void> {
    await this.seedEmptyCluster();
    const shipped = await this.ship();
    await this.syncing; // rows the fence refused: the copy was rebuilt already
    if (!shipped || this.s.anyPending.get()) {
      throw new Error('alarm replication: cannot ship local changes to Redis; not starting with a copy others cannot see');
    }
    const first = (await this.o.redis.xrange(this.streamKey, '-', '+', 'COUNT', 1))[0]?.[0];
    const rows = await this.o.redis.hlen(this.rowsKey);
    const behind = first !== undefined && compareIds(this.position, first) < 0 && this.position !== '0';
    if (this.position === '0' && rows > 0 && !this.s.ctl.get()!.diverged) await this.refuseToDropHistory();
    if (this.s.ctl.get()!.diverged || (this.position === '0' && rows > 0) || behind) {
      await this.fullSync(this.s.ctl.get()!.diverged ? 'rows refused by the fence' : behind ? 'the stream no longer holds all since this copy' : 'a new copy');
    }
    await this.readOnce(0);
    this.reading = this.readLoop();
    this.shipTimer = setInterval(() => void this.ship(), 50);
    this.shipTimer.unref();
  }

  /**
   * The first instance of a new cluster may bring the alarms of the server it was before (a province growing out
   * of one machine): rows from before the triggers existed are queued as they are, so the cluster starts with them.
   * Their ids are AUTOINCREMENT values, below every cluster id block.
   */
  private async seedEmptyCluster(): Promise<void> {
    if (this.position !== '0' || (await this.o.redis.exists(this.rowsKey, this.streamKey)) > 0) return;
    this.o.db.transaction(() => {
      for (const [table, t] of this.tables) {
        this.o.db.exec(`INSERT INTO repl_out (tbl, op, row, origin) SELECT '${table}', 'u', ${rowJson(t.columns)}, 'op' FROM ${table}`);
      }
    })();
  }

  /**
   * A new copy is about to be replaced by a cluster that already has state. Its own rows the cluster lacks, or
   * holds otherwise, are history from before it joined (a single server, or a second server being merged in):
   * refused, not silently dropped. Rows it shipped, or queued and shipped just now, are in the hash as they are here.
   */
  private async refuseToDropHistory(): Promise<void> {
    const missing = new Map<string, number>();
    for (const [table, t] of this.tables) {
      // Each row as the triggers write it: equal to the hash's version when this copy shipped it. Compared whole,
      // since two servers that ran alone number their alarms alike (AUTOINCREMENT from 1).
      const rows = this.o.db
        .prepare<[], [string, string]>(`SELECT json_array(${t.pk.join(', ')}), ${rowJson(t.columns)} FROM ${table}`)
        .raw()
        .all();
      for (let i = 0; i < rows.length; i += 1000) {
        const chunk = rows.slice(i, i + 1000);
        const theirs = await this.o.redis.hmget(this.rowsKey, ...chunk.map(([pk]) => `${table}|${JSON.stringify(JSON.parse(pk))}`));
        const n = chunk.filter(([, row], j) => theirs[j] !== row).length;
        if (n > 0) missing.set(table, (missing.get(table) ?? 0) + n);
      }
    }
    if (missing.size === 0) return;
    const what = [...missing].map(([table, n]) => `${n} ${table}`).join(', ');
    if (this.o.discardLocalRows) {
      this.o.log?.warn({ missing: Object.fromEntries(missing) }, `alarm replication: joining a cluster that has state; this instance's own rows it lacks (${what}) are dropped (discard_local_alarms)`);
      return;
    }
    throw new Error(
      `alarm replication: this instance's alarm database holds rows the cluster does not have (${what}), from before it joined; ` +
        `the cluster already has state from other instances, and joining would replace this copy with it. Start this instance ` +
        `first on an empty cluster (it then brings its alarms along), or set cluster.discard_local_alarms: true to join without them`,
    );
  }

  async stop(): Promise<void> {
    if (this.shipTimer) clearInterval(this.shipTimer);
    try {
      await this.flush();
    } catch (err) {
      this.o.log?.warn({ err }, 'alarm replication: could not ship the last changes; they stay in repl_out for the next start');
    }
    await this.syncing;
    this.stopped = true;
    // XREAD BLOCK returns within its timeout; the caller then disconnects the reader.
    await this.reading;
  }

  /** Runs `fn` (inside or as a transaction) with its changes marked as an operator's: not fenced. */
  asOperator<T>(fn: () => T): T {
    return this.o.db.transaction(() => {
      this.s.setOrigin.run('op');
      try {
        return fn();
      } finally {
        this.s.setOrigin.run('');
      }
    })();
  }

  /** Resolves once every change committed before the call is shipped (or refused by the fence); rejects if Redis fails. */
  async flush(): Promise<void> {
    while (this.s.anyPending.get()) {
      if (!(await this.ship())) throw new Error('alarm replication: changes could not be shipped to Redis');
    }
  }

  /** Ships pending rows (up to 500 per shipment); concurrent calls share one run. False if Redis failed. */
  ship(): Promise<boolean> {
    if (this.shipping) {
      this.shipAgain = true;
      return this.shipping;
    }
    // `.finally` runs after the assignment even when nothing is pending (the run then completes synchronously).
    this.shipping = this.shipPending().finally(() => (this.shipping = undefined));
    return this.shipping;
  }

  private async shipPending(): Promise<boolean> {
    try {
      do {
        this.shipAgain = false;
        for (;;) {
          const rows = this.s.pending.all(500);
          if (rows.length === 0) break;
          await this.shipRows(rows);
        }
      } while (this.shipAgain);
      return true;
    } catch (err) {
      this.counters.errors++;
      this.o.log?.warn({ err: (err as Error).message }, 'alarm replication: shipping failed; the changes stay queued and are retried');
      return false;
    }
  }

  /** One shipment; a station the fence refuses loses its rows from this shipment and the rest is tried again. */
  private async shipRows(rows: OutRow[]): Promise<void> {
    // A shipment is applied whole, so only each row's last version in it matters: the per-reading "last seen"
    // updates of a busy station shrink to one per shipment.
    const parsed = rows.map((r) => ({ r, c: { t: r.tbl, op: r.op, row: JSON.parse(r.row) as Record<string, unknown> } as Change }));
    const last = new Map<string, (typeof parsed)[number]>();
    for (const x of parsed) {
      const t = this.tables.get(x.c.t);
      const field = `${x.c.t}|${JSON.stringify(t ? t.pk.map((k) => x.c.row[k] ?? null) : [])}`;
      last.delete(field);
      last.set(field, x);
    }
    const changes: Change[] = [];
    const hashOps: string[] = [];
    for (const [field, { r, c }] of last) {
      changes.push(c);
      if (c.op === 'u') hashOps.push('u', field, r.row);
      else hashOps.push('d', field);
    }
    // The fence: every station a non-operator row belongs to, with the rows to drop if it is refused.
    const byStation = new Map<string, number[]>();
    for (const { r, c } of parsed) {
      const station = r.origin === 'op' ? undefined : this.stationOf(c);
      if (station === undefined) continue;
      let seqs = byStation.get(station);
      if (!seqs) byStation.set(station, (seqs = []));
      seqs.push(r.seq);
    }
    const stations = [...byStation.keys()];
    const res = (await this.o.redis.eval(
      SHIP,
      2 + stations.length,
      this.streamKey,
      this.rowsKey,
      ...stations.map((st) => this.o.leaseKey(st)),
      this.o.instanceId,
      String(this.o.maxLen ?? 10_000),
      JSON.stringify(changes),
      ...hashOps,
    )) as [number, number | string];
    if (res[0] === 1) {
      this.s.shipped.run(rows[rows.length - 1]!.seq);
      this.counters.shipped += rows.length;
      this.counters.entries_shipped++;
      return;
    }
    // Another instance owns this station now: these rows are stale. Drop them; the copy that holds them is
    // rebuilt once the rest is shipped.
    const station = stations[Number(res[1]) - 1]!;
    const seqs = byStation.get(station)!;
    this.o.db.transaction(() => {
      for (const seq of seqs) this.s.drop.run(seq);
      this.s.setDiverged.run(1);
    })();
    this.counters.fenced += seqs.length;
    this.o.log?.warn({ station, rows: seqs.length }, 'alarm replication: the station has a new owner; changes this instance made while it still owned it are dropped and its copy is rebuilt');
    this.syncing ??= (async () => {
      // Once nothing is queued any more (this shipment's other rows included), so the sync starts from all of them.
      await new Promise((r) => setImmediate(r));
      while (this.shipping) await this.shipping;
      await this.fullSync('rows refused by the fence');
    })()
      .catch((err: Error) => this.o.log?.error({ err: err.message }, 'alarm replication: rebuilding the copy failed; retried on the next start'))
      .finally(() => (this.syncing = undefined));
  }

  /** The station a row belongs to (rows keyed by alarm id: that alarm's station). */
  private stationOf(c: Change): string | undefined {
    if (typeof c.row.station === 'string') return c.row.station;
    if (typeof c.row.alarm_id === 'number') return this.s.alarmStation.get(c.row.alarm_id)?.station;
    return undefined;
  }

  /**
   * Replaces the copy with the cluster's state: the hash (every row's latest version), then the stream from the
   * entry that was last before the hash was read — rows changed meanwhile are applied again, in order, and end at
   * their latest version. Rows this instance committed and has not shipped yet are newer: they go back on top.
   */
  private async fullSync(reason: string): Promise<void> {
    this.paused = true;
    try {
      const last = (await this.o.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0';
      const snapshot: string[] = [];
      let cursor = '0';
      do {
        const [next, kv] = await this.o.redis.hscan(this.rowsKey, cursor, 'COUNT', 1000);
        snapshot.push(...kv);
        cursor = next;
      } while (cursor !== '0');
      // From here on synchronous: nothing else touches the database until the copy is whole again.
      this.o.db.transaction(() => {
        this.s.setApplying.run(1);
        for (const t of this.tables.keys()) this.o.db.exec(`DELETE FROM ${t}`);
        for (let i = 0; i + 1 < snapshot.length; i += 2) {
          const f = snapshot[i]!;
          this.applyChange({ t: f.slice(0, f.indexOf('|')), op: 'u', row: JSON.parse(snapshot[i + 1]!) as Record<string, unknown> });
        }
        for (const r of this.s.allPending.all()) this.applyChange({ t: r.tbl, op: r.op as Change['op'], row: JSON.parse(r.row) as Record<string, unknown> });
        this.s.setPosition.run((this.position = last));
        this.s.setDiverged.run(0);
        this.s.setApplying.run(0);
      })();
      this.counters.full_syncs++;
      this.o.log?.warn({ reason, rows: snapshot.length / 2, position: last }, 'alarm replication: copy rebuilt from the cluster state');
    } finally {
      this.paused = false;
    }
    this.wakeWaiters();
  }

  /** Resolves when this copy has applied the stream up to the entry that was last when called. */
  async caughtUp(): Promise<void> {
    const last = (await this.o.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1))[0]?.[0];
    if (!last || compareIds(this.position, last) >= 0) return;
    await new Promise<void>((resolve) => this.positionWaiters.push({ target: last, resolve }));
  }

  private async readLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.readOnce(1000);
      } catch (err) {
        if (this.stopped) return;
        this.counters.errors++;
        this.o.log?.warn({ err: (err as Error).message }, 'alarm replication: reading the stream failed; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** One XREAD (blocking up to blockMs when > 0), applied; with blockMs 0, reads until the stream's end. */
  private async readOnce(blockMs: number): Promise<void> {
    for (;;) {
      if (this.paused) return void (await this.syncing);
      const from = this.position;
      const res = blockMs > 0
        ? await this.o.reader.xread('COUNT', 200, 'BLOCK', blockMs, 'STREAMS', this.streamKey, from)
        : await this.o.reader.xread('COUNT', 200, 'STREAMS', this.streamKey, from);
      // A full sync ran meanwhile: its snapshot and position replace what was read.
      if (this.paused || from !== this.position) return;
      const entries = res?.[0]?.[1] ?? [];
      if (entries.length > 0) this.apply(entries);
      if (blockMs > 0 || entries.length < 200) return;
    }
  }

  private apply(entries: [id: string, fields: string[]][]): void {
    this.o.db.transaction(() => {
      this.s.setApplying.run(1);
      for (const [id, fields] of entries) {
        // Our own entries are in the copy already: they were committed here before they were shipped.
        if (field(fields, 'from') !== this.o.instanceId) {
          for (const c of JSON.parse(field(fields, 'changes') ?? '[]') as Change[]) this.applyChange(c);
          this.counters.entries_applied++;
        }
        this.position = id;
      }
      this.s.setPosition.run(this.position);
      this.s.setApplying.run(0);
    })();
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    for (let i = this.positionWaiters.length - 1; i >= 0; i--) {
      const w = this.positionWaiters[i]!;
      if (compareIds(this.position, w.target) >= 0) {
        this.positionWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private applyChange(c: Change): void {
    const t = this.tables.get(c.t);
    if (!t) return; // a table a newer version replicates: ignored by this one
    if (c.op === 'd') {
      t.remove.run(Object.fromEntries(t.pk.map((k) => [k, c.row[k] ?? null])));
    } else {
      t.upsert.run(Object.fromEntries(t.columns.map((k) => [k, c.row[k] ?? null])));
    }
    this.counters.applied++;
  }
}

interface OutRow {
  seq: number;
  tbl: string;
  op: string;
  row: string;
  origin: string;
}

/** A row as the JSON every copy ships and compares: the triggers (`NEW.`/`OLD.`), the seed and the join check share it. */
function rowJson(columns: readonly string[], prefix = ''): string {
  return `json_object(${columns.map((c) => `'${c}', ${prefix}${c}`).join(', ')})`;
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Orders Redis stream ids (`<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
