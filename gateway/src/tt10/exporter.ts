import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Tt10Config, Tt10Receiver } from './config.ts';
import { averageWindow, averageWindowFromMeans, expandTemplate, fileNameStamp, formatTt10, meanPeriodFor, parseTt10Time, tt10FileName, tt10Time, type WindowMean, type WindowReading } from './format.ts';
import { sendOverFtp, type OutgoingFile } from './ftp-sender.ts';
import { sendOverSftp } from './sftp-sender.ts';

/**
 * Produces a TT10 file for every `interval_min` window from the gateway's archive and sends it to every receiver.
 * The value of a parameter is the gateway's own mean of the window (with its status) when the gateway computes
 * means of a period that divides the window (`meanPeriodsS`, the config's `averaging`: 300 s means for 5-minute
 * files, or 60 s means combined by sample count); otherwise — means off, or a parameter whose mean is not in the
 * archive — the mean of the window's raw readings.
 *
 * On disk, under `<data_dir>/tt10/`:
 *   archive/<yyyyMMdd>/<file>.txt   every file produced, kept `archiveDays` (TT10/2021: ≥ 60 days)
 *   queue/<receiver>/<file>.txt     a hard link per receiver until that receiver has the whole file
 *   state.json                      the start of the next window to produce
 * A file is complete on disk (fsync, rename) before it is queued, and the state moves on only after that, so a
 * crash at any point either redoes a window (same name, same content) or has nothing to redo. Queues survive
 * restarts and are sent oldest first; a failed send is retried with backoff and never skipped.
 */

export interface Tt10ExporterOptions {
  config: Tt10Config;
  /** The gateway's SQLite outbox/archive (read-only here). */
  dbPath: string;
  /** Folder of the exporter's files (normally <data_dir>/tt10). */
  dir: string;
  archiveDays: number;
  /**
   * The periods (s) of the means the gateway archives (config `averaging`); empty or absent: raw readings only.
   * A function is asked at every window, so a reload that changes `averaging` applies to the next file.
   */
  meanPeriodsS?: readonly number[] | (() => readonly number[]);
  log: Logger;
  /** Clock for windows, Unix ms (default Date.now). */
  now?: () => number;
  /** How often to look for due windows and queued files (default 1000 ms). */
  tickMs?: number;
  /** Called after a receiver has a file (tests, metrics). */
  onSent?: (receiver: string, name: string) => void;
}

export interface Tt10Exporter {
  start(): void;
  /** Stops the timer and aborts sends in progress (their files stay queued). */
  stop(): Promise<void>;
  /** Writes the files of every window that is due; returns their names. */
  produce(): string[];
  /** Sends what is queued to every receiver now, ignoring backoff; resolves when each queue is empty or failed. */
  sendNow(): Promise<void>;
  /** Files waiting for a receiver, oldest first. */
  queued(receiver: string): string[];
  /** Files in the local archive, oldest first. */
  archived(): string[];
  /** Deletes archived files older than archiveDays; returns how many. */
  prune(): number;
}

const DAY_MS = 86_400_000;

export function createTt10Exporter(o: Tt10ExporterOptions): Tt10Exporter {
  const c = o.config;
  const now = o.now ?? Date.now;
  const windowMs = c.intervalMin * 60_000;
  const names = { province: c.province, facility: c.facility, station: c.stationCode };
  const archiveDir = join(o.dir, 'archive');
  const queueDir = (r: string): string => join(o.dir, 'queue', r);
  const statePath = join(o.dir, 'state.json');
  mkdirSync(archiveDir, { recursive: true });
  for (const r of c.receivers) mkdirSync(queueDir(r.name), { recursive: true });

  const meanPeriods = (): readonly number[] => (typeof o.meanPeriodsS === 'function' ? o.meanPeriodsS() : (o.meanPeriodsS ?? []));
  let db: Database.Database | undefined;
  let windowStmt: Database.Statement<[number, number], WindowReading> | undefined;
  let meansStmt: Database.Statement<[number, number, number], WindowMean> | undefined;
  const open = (): boolean => {
    if (db) return true;
    if (!existsSync(o.dbPath)) return false;
    db = new Database(o.dbPath, { readonly: true, fileMustExist: true });
    windowStmt = db.prepare(`SELECT param, value, status FROM archive WHERE time >= ? AND time < ? AND period_s = 0`);
    // Means are stamped with the start of their period: those starting inside the window make it up.
    meansStmt = db.prepare(`SELECT param, value, status, samples FROM archive WHERE time >= ? AND time < ? AND period_s = ?`);
    return true;
  };
  const readWindow = (from: number, to: number): WindowReading[] => (open() ? windowStmt!.all(from, to) : []);
  const readMeans = (from: number, to: number, periodS: number): WindowMean[] => (open() ? meansStmt!.all(from, to, periodS) : []);

  const readState = (): number | undefined => {
    try {
      const s = JSON.parse(readFileSync(statePath, 'utf8')) as { next_window?: unknown };
      return typeof s.next_window === 'number' ? s.next_window : undefined;
    } catch {
      return undefined;
    }
  };
  const writeState = (next: number): void => writeDurably(statePath, JSON.stringify({ next_window: next }) + '\n');

  const produce = (): string[] => {
    const t = now();
    // A first start begins with the current window: no flood of history to a Sở that never asked for it.
    const saved = readState();
    let next = saved ?? Math.floor(t / windowMs) * windowMs;
    if (saved === undefined) writeState(next);
    const oldest = Math.floor((t - o.archiveDays * DAY_MS) / windowMs) * windowMs;
    if (next < oldest) next = oldest;
    const written: string[] = [];
    while (next + windowMs + c.delayS * 1000 <= t) {
      const end = next + windowMs;
      const readings = readWindow(next, end);
      // No reading at all: the gateway was not running, there is nothing to report for this window.
      if (readings.length > 0) {
        const meanPeriodS = meanPeriodFor(windowMs / 1000, meanPeriods());
        const records = meanPeriodS === undefined ? averageWindow(c.params, readings, c.missing) : averageWindowFromMeans(c.params, readMeans(next, end, meanPeriodS), readings, c.missing);
        if (records.length > 0) written.push(writeFile(end, formatTt10(records, end, c)));
      }
      next = end;
      writeState(next);
    }
    return written;
  };

  const writeFile = (t: number, text: string): string => {
    const name = tt10FileName(names, t, c.utcOffsetMin);
    const dayDir = join(archiveDir, tt10Time(t, c.utcOffsetMin).slice(0, 8));
    mkdirSync(dayDir, { recursive: true });
    const path = join(dayDir, name);
    writeDurably(path, text);
    for (const r of c.receivers) {
      const q = join(queueDir(r.name), name);
      rmSync(q, { force: true });
      try {
        linkSync(path, q);
      } catch {
        copyFileSync(path, q);
      }
    }
    o.log.info({ file: name, receivers: c.receivers.length }, 'tt10 file written');
    return name;
  };

  const byStamp = (a: string, b: string): number => (fileNameStamp(a) ?? a).localeCompare(fileNameStamp(b) ?? b) || a.localeCompare(b);
  const queued = (r: string): string[] => readdirSync(queueDir(r)).filter((n) => n.endsWith('.txt')).sort(byStamp);

  interface SenderState { busy?: Promise<void>; failures: number; retryAt: number; abort: { close?: () => void } }
  const senders = new Map<string, SenderState>(c.receivers.map((r) => [r.name, { failures: 0, retryAt: 0, abort: {} }]));

  const drain = (r: Tt10Receiver): Promise<void> => {
    const s = senders.get(r.name)!;
    if (s.busy) return s.busy;
    const names0 = queued(r.name);
    if (names0.length === 0) return Promise.resolve();
    const files: OutgoingFile[] = names0.map((name) => ({
      name,
      localPath: join(queueDir(r.name), name),
      remoteDir: expandTemplate(r.remoteDir, parseTt10Time(fileNameStamp(name) ?? '', c.utcOffsetMin) || now(), c.utcOffsetMin, names),
    }));
    s.busy = (r.protocol === 'sftp' ? sendOverSftp : sendOverFtp)(r, files, (f) => {
      unlinkSync(f.localPath);
      s.failures = 0;
      o.onSent?.(r.name, f.name);
    }, s.abort)
      .then(() => {
        if (files.length > 0) o.log.info({ receiver: r.name, files: files.length }, 'tt10 files sent');
      })
      .catch((err: unknown) => {
        s.failures++;
        const waitMs = Math.min(300_000, 2000 * 2 ** Math.min(s.failures - 1, 8));
        s.retryAt = Date.now() + waitMs;
        o.log.warn({ receiver: r.name, host: r.host, err: (err as Error).message, queued: queued(r.name).length, retry_in_ms: waitMs }, 'tt10 send failed; will retry');
      })
      .finally(() => {
        s.busy = undefined;
      });
    return s.busy;
  };

  const prune = (): number => {
    const cutoff = tt10Time(now() - o.archiveDays * DAY_MS, c.utcOffsetMin).slice(0, 8);
    let n = 0;
    for (const d of readdirSync(archiveDir)) {
      if (/^\d{8}$/.test(d) && d < cutoff) {
        n += readdirSync(join(archiveDir, d)).length;
        rmSync(join(archiveDir, d), { recursive: true, force: true });
      }
    }
    return n;
  };

  let timer: NodeJS.Timeout | undefined;
  let lastPrune = 0;
  const tick = (): void => {
    try {
      produce();
      if (Date.now() - lastPrune > DAY_MS / 4) {
        lastPrune = Date.now();
        const n = prune();
        if (n > 0) o.log.info({ deleted: n, archive_days: o.archiveDays }, 'tt10 archive pruned');
      }
    } catch (err) {
      o.log.error({ err }, 'tt10 file could not be written');
    }
    for (const r of c.receivers) {
      const s = senders.get(r.name)!;
      if (!s.busy && Date.now() >= s.retryAt) void drain(r);
    }
  };

  return {
    start() {
      timer ??= setInterval(tick, o.tickMs ?? 1000);
      tick();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      for (const s of senders.values()) s.abort.close?.();
      await Promise.all([...senders.values()].map((s) => s.busy));
      db?.close();
      db = undefined;
    },
    produce,
    async sendNow() {
      await Promise.all(c.receivers.map((r) => drain(r)));
    },
    queued,
    archived: () =>
      readdirSync(archiveDir)
        .filter((d) => /^\d{8}$/.test(d))
        .flatMap((d) => readdirSync(join(archiveDir, d)))
        .filter((n) => n.endsWith('.txt'))
        .sort(byStamp),
    prune,
  };
}

/** Write, fsync, rename: the file is either absent or whole. */
function writeDurably(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
