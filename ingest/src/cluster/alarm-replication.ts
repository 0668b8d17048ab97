import type Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Alarm state shared by a cluster (issue 10): every instance keeps a full copy of the alarm database
 * (<data dir>/alarms.sqlite) and the copies converge through one Redis stream.
 *
 * Writes stay synchronous SQLite transactions (the engine and notifier are unchanged). Triggers on the replicated
 * tables append each changed row, as JSON, to a local `repl_out` table *inside the same transaction* — an outbox —
 * and the shipper moves those rows to the stream (XADD) and only then deletes them. Every instance reads the
 * stream (XREAD) and applies the other instances' rows in one transaction that also records the stream position,
 * so each entry is applied exactly once per copy, in stream order.
 *
 * Who may write which rows is decided by the station leases (station-leases.ts): only the owner of a station
 * evaluates its rules, so rows of one station have one writer at a time. Operator actions (acknowledge, comment)
 * may happen on any instance; a row is replaced whole (last writer wins), which only matters if two instances
 * change the same alarm within the same few milliseconds.
 *
 * Before a station changes hands the old owner ships everything (`flush()`), and the new owner waits until it has
 * applied the stream up to its end (`caughtUp()`); an owner killed with rows not yet shipped loses those rows, and
 * the new owner evaluates the readings again from its buffer (engine.ts: acquire) — which is why the notifier only
 * sends a message once the rows that queued it are in the stream (`flush()` before sending).
 */
export const REPLICATED_TABLES = ['alarms', 'alarm_history', 'rule_state', 'series_seen', 'station_seen', 'calibrations', 'notifications', 'escalations'] as const;

export interface AlarmReplicationOptions {
  db: Database.Database;
  /** For XADD, XREVRANGE. */
  redis: Redis;
  /** A second connection: XREAD BLOCK holds its connection. */
  reader: Redis;
  instanceId: string;
  /** Default `envmon:alarms:log`. */
  streamKey?: string;
  /** Approximate cap on the stream (XADD MAXLEN ~); default 1,000,000 entries. */
  maxLen?: number;
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

export class AlarmReplication {
  readonly streamKey: string;
  /** Stream id of the last entry applied (or skipped as our own). */
  private position: string;
  private readonly tables = new Map<string, TableInfo>();
  private readonly s;
  private shipping: Promise<boolean> | undefined;
  private shipAgain = false;
  private stopped = false;
  private reading: Promise<void> | undefined;
  private shipTimer: NodeJS.Timeout | undefined;
  private readonly positionWaiters: { target: string; resolve: () => void }[] = [];
  readonly counters = { shipped: 0, applied: 0, entries_shipped: 0, entries_applied: 0, errors: 0 };

  constructor(private readonly o: AlarmReplicationOptions) {
    this.streamKey = o.streamKey ?? 'envmon:alarms:log';
    const db = o.db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS repl_out (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, op TEXT NOT NULL, row TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS repl_ctl (k INTEGER PRIMARY KEY CHECK (k = 0), applying INTEGER NOT NULL, position TEXT NOT NULL);
      INSERT OR IGNORE INTO repl_ctl (k, applying, position) VALUES (0, 0, '0');
      -- A crash mid-apply rolls the flag back with the transaction; this covers a file copied mid-transaction.
      UPDATE repl_ctl SET applying = 0;
    `);
    for (const t of REPLICATED_TABLES) {
      const info = this.installTable(t);
      if (info) this.tables.set(t, info);
    }
    this.s = {
      pending: db.prepare<[number], { seq: number; tbl: string; op: string; row: string }>(`SELECT seq, tbl, op, row FROM repl_out ORDER BY seq LIMIT ?`),
      shipped: db.prepare(`DELETE FROM repl_out WHERE seq <= ?`),
      anyPending: db.prepare<[], { seq: number }>(`SELECT seq FROM repl_out LIMIT 1`),
      setApplying: db.prepare(`UPDATE repl_ctl SET applying = ?`),
      setPosition: db.prepare(`UPDATE repl_ctl SET position = ?`),
    };
    this.position = (db.prepare(`SELECT position FROM repl_ctl`).get() as { position: string }).position;
  }

  /**
   * (Re)creates the triggers of one table from its current columns. Deletes carry the primary key only; inserts
   * and updates carry the whole row. `applying` is set while rows from the stream are applied, so they are not
   * sent back.
   */
  private installTable(table: string): TableInfo | undefined {
    const info = this.o.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string; pk: number }[];
    // The notifier's tables exist only when recipients are configured (every instance has the same config).
    if (info.length === 0) return undefined;
    const columns = info.map((c) => c.name);
    const pk = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const obj = (prefix: 'NEW' | 'OLD', cols: string[]) => `json_object(${cols.map((c) => `'${c}', ${prefix}.${c}`).join(', ')})`;
    const when = `WHEN (SELECT applying FROM repl_ctl) = 0`;
    this.o.db.exec(`
      DROP TRIGGER IF EXISTS repl_${table}_ins;
      DROP TRIGGER IF EXISTS repl_${table}_upd;
      DROP TRIGGER IF EXISTS repl_${table}_del;
      CREATE TRIGGER repl_${table}_ins AFTER INSERT ON ${table} ${when}
        BEGIN INSERT INTO repl_out (tbl, op, row) VALUES ('${table}', 'u', ${obj('NEW', columns)}); END;
      CREATE TRIGGER repl_${table}_upd AFTER UPDATE ON ${table} ${when}
        BEGIN INSERT INTO repl_out (tbl, op, row) VALUES ('${table}', 'u', ${obj('NEW', columns)}); END;
      CREATE TRIGGER repl_${table}_del AFTER DELETE ON ${table} ${when}
        BEGIN INSERT INTO repl_out (tbl, op, row) VALUES ('${table}', 'd', ${obj('OLD', pk)}); END;
    `);
    return {
      columns,
      pk,
      // REPLACE also removes a row that conflicts on another unique key (one open alarm per station/param/rule,
      // one message per idempotency key): the stream's version wins.
      upsert: this.o.db.prepare(`INSERT OR REPLACE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`),
      remove: this.o.db.prepare(`DELETE FROM ${table} WHERE ${pk.map((c) => `${c} = @${c}`).join(' AND ')}`),
    };
  }

  /** Applies the stream to its end, then keeps reading it and shipping local changes until `stop()`. */
  async start(): Promise<void> {
    await this.discardUnshipped();
    await this.ship();
    if (this.s.anyPending.get()) throw new Error('alarm replication: cannot ship local changes to Redis; not starting with a copy others cannot see');
    // Our own entries too: after a rebuild they are not in the local copy; otherwise re-applying them is harmless
    // (every local change is shipped, so the stream's last version of a row is the local one).
    await this.readOnce(0, true);
    this.reading = this.readLoop();
    this.shipTimer = setInterval(() => void this.ship(), 50);
    this.shipTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.shipTimer) clearInterval(this.shipTimer);
    try {
      await this.flush();
    } catch (err) {
      this.o.log?.warn({ err }, 'alarm replication: could not ship the last changes; they stay in repl_out for the next start');
    }
    this.stopped = true;
    // XREAD BLOCK returns within its timeout; the caller then disconnects the reader.
    await this.reading;
  }

  /**
   * Changes left unshipped by a crash were never seen by another instance, and no message was sent for them
   * (the notifier ships before sending), but the stations they belong to have been taken over since: shipping them
   * now would bring back a stale state (a second copy of an alarm the new owner raised). The local copy is
   * rebuilt from the stream instead — possible while the stream was never trimmed (MAXLEN); otherwise they are
   * shipped with a warning.
   */
  private async discardUnshipped(): Promise<void> {
    const pending = (this.o.db.prepare(`SELECT count(*) AS n FROM repl_out`).get() as { n: number }).n;
    if (pending === 0) return;
    let rebuild = false;
    try {
      const info = (await this.o.redis.call('XINFO', 'STREAM', this.streamKey)) as unknown[];
      const get = (k: string) => info[info.indexOf(k) + 1];
      rebuild = Number(get('entries-added')) === Number(get('length'));
    } catch {
      // No stream at all: nobody ever shipped anything, so the local rows are all there is: ship them.
    }
    if (!rebuild) {
      this.o.log?.warn({ pending }, 'alarm replication: changes left unshipped are shipped late (the stream is missing or trimmed, so the local copy cannot be rebuilt)');
      return;
    }
    this.o.log?.warn({ pending }, 'alarm replication: discarding changes a crash left unshipped; rebuilding the local copy from the stream');
    this.o.db.transaction(() => {
      this.s.setApplying.run(1);
      for (const t of this.tables.keys()) this.o.db.exec(`DELETE FROM ${t}`);
      this.o.db.exec(`DELETE FROM repl_out`);
      this.s.setPosition.run((this.position = '0'));
      this.s.setApplying.run(0);
    })();
  }

  /** Resolves once every change committed before the call is in the stream; rejects if Redis refuses them. */
  async flush(): Promise<void> {
    while (this.s.anyPending.get()) {
      if (!(await this.ship())) throw new Error('alarm replication: changes could not be shipped to Redis');
    }
  }

  /** Ships pending rows (one XADD per 500 rows); concurrent calls share one run. False if shipping failed. */
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
          const changes = rows.map((r) => ({ t: r.tbl, op: r.op, row: JSON.parse(r.row) as Record<string, unknown> }) as Change);
          await this.o.redis.xadd(this.streamKey, 'MAXLEN', '~', String(this.o.maxLen ?? 1_000_000), '*', 'from', this.o.instanceId, 'changes', JSON.stringify(changes));
          this.s.shipped.run(rows[rows.length - 1]!.seq);
          this.counters.shipped += rows.length;
          this.counters.entries_shipped++;
        }
      } while (this.shipAgain);
      return true;
    } catch (err) {
      this.counters.errors++;
      this.o.log?.warn({ err: (err as Error).message }, 'alarm replication: shipping failed; the changes stay queued and are retried');
      return false;
    }
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
  private async readOnce(blockMs: number, own = false): Promise<void> {
    for (;;) {
      const res = blockMs > 0
        ? await this.o.reader.xread('COUNT', 200, 'BLOCK', blockMs, 'STREAMS', this.streamKey, this.position)
        : await this.o.reader.xread('COUNT', 200, 'STREAMS', this.streamKey, this.position);
      const entries = res?.[0]?.[1] ?? [];
      if (entries.length > 0) this.apply(entries, own);
      if (blockMs > 0 || entries.length < 200) return;
    }
  }

  private apply(entries: [id: string, fields: string[]][], own: boolean): void {
    const db = this.o.db;
    db.transaction(() => {
      this.s.setApplying.run(1);
      for (const [id, fields] of entries) {
        const from = field(fields, 'from');
        if (own || from !== this.o.instanceId) {
          for (const c of JSON.parse(field(fields, 'changes') ?? '[]') as Change[]) this.applyChange(c);
          this.counters.entries_applied++;
        }
        this.position = id;
      }
      this.s.setPosition.run(this.position);
      this.s.setApplying.run(0);
    })();
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
