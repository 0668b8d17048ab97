import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { encodeBatchJson, type Catalogue } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { StationConfig } from '../config/config.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { Tt10ImportConfig } from './config.ts';
import { parseTt10, splitFileName, symbolMap, Tt10FormatError } from './parse.ts';

/**
 * Watches the drop folder (by polling: it works on network mounts and picks up files that arrived while the ingest
 * was down) and feeds every TT10 file through `Pipeline.handleData` as a JSON-twin batch, so imported data meets the
 * same validation, quarantine, WAL, store and live stream as MQTT data. The topic recorded with rejects is
 * `tt10/<file name>`.
 *
 *   good file        → done/<name> once its readings are in the WAL (bad readings are quarantined as usual)
 *   malformed file   → rejected/<name> and rejected/<name>.reason.txt (fix and move it back to retry)
 */

export interface Tt10ImportOptions {
  config: Tt10ImportConfig;
  pipeline: Pipeline;
  stations: ReadonlyMap<string, StationConfig>;
  catalogue: Catalogue;
  log: Logger;
}

export interface Tt10Importer {
  /** Looks at the folder once and processes every settled file, oldest stamp first; returns what happened. */
  scan(): Promise<{ done: string[]; rejected: string[] }>;
  stop(): Promise<void>;
  readonly doneDir: string;
  readonly rejectedDir: string;
}

export function startTt10Import(o: Tt10ImportOptions): Tt10Importer {
  const c = o.config;
  const dir = resolve(c.dir);
  const doneDir = resolve(c.done_dir ?? join(dir, 'done'));
  const rejectedDir = resolve(c.rejected_dir ?? join(dir, 'rejected'));
  for (const d of [dir, doneDir, rejectedDir]) mkdirSync(d, { recursive: true });

  const byPrefix = new Map<string, { station: string; symbols: Map<string, string> }>();
  for (const m of c.stations) {
    const st = o.stations.get(m.station);
    if (!st) throw new Error(`tt10_import.stations: file prefix ${m.file_prefix} maps to station ${m.station}, which is not in stations:`);
    for (const code of Object.values(m.symbols)) {
      if (!o.catalogue.has(code)) throw new Error(`tt10_import.stations (${m.file_prefix}).symbols: ${code} is not a code in protocol/parameters.yaml`);
    }
    byPrefix.set(m.file_prefix.toLowerCase(), { station: m.station, symbols: symbolMap(o.catalogue, st.medium, m.symbols) });
  }
  const log = o.log.child({ part: 'tt10-import', dir });

  const move = (from: string, toDir: string): string => {
    const name = basename(from);
    let target = join(toDir, name);
    for (let i = 1; existsSync(target); i++) target = join(toDir, `${basename(name, extname(name))}.${i}${extname(name)}`);
    renameSync(from, target);
    return target;
  };

  const reject = (path: string, reason: string): void => {
    const target = move(path, rejectedDir);
    writeFileSync(`${target}.reason.txt`, `${basename(path)}\n${new Date().toISOString()}\n${reason}\n`);
    log.warn({ file: basename(path), reason }, 'tt10 file rejected');
  };

  const importFile = async (path: string): Promise<boolean> => {
    const name = basename(path);
    const parts = splitFileName(name);
    const mapping = parts && byPrefix.get(parts.prefix.toLowerCase());
    if (!mapping) {
      reject(path, parts
        ? `no station is mapped to the file prefix "${parts.prefix}"; add it under tt10_import.stations (known: ${[...byPrefix.keys()].join(', ')})`
        : `file name "${name}" is not <TenTinh>_<TenCoSo>_<TenTram>_<yyyyMMddHHmmss>.txt`);
      return false;
    }
    let parsed;
    try {
      parsed = parseTt10(name, readFileSync(path), mapping.symbols, c.utc_offset_min);
    } catch (err) {
      if (!(err instanceof Tt10FormatError)) throw err;
      reject(path, err.message);
      return false;
    }
    const batch = { station: mapping.station, seq: Math.floor(parsed.fileTime / 1000), sent_at: parsed.fileTime, readings: parsed.readings };
    await o.pipeline.handleData(mapping.station, `tt10/${name}`, Buffer.from(encodeBatchJson(batch)));
    move(path, doneDir);
    log.debug({ file: name, station: mapping.station, readings: parsed.readings.length }, 'tt10 file imported');
    return true;
  };

  let running: Promise<{ done: string[]; rejected: string[] }> | undefined;
  const scan = (): Promise<{ done: string[]; rejected: string[] }> => {
    if (running) return running;
    const pass = (async () => {
      const out = { done: [] as string[], rejected: [] as string[] };
      try {
        const now = Date.now();
        const files = readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isFile() && /\.txt$/i.test(e.name) && !e.name.endsWith('.reason.txt'))
          .map((e) => e.name)
          .filter((n) => now - statSync(join(dir, n)).mtimeMs >= c.settle_ms)
          .sort((a, b) => (splitFileName(a)?.stamp ?? a).localeCompare(splitFileName(b)?.stamp ?? b) || a.localeCompare(b));
        for (const n of files) {
          if (stopped) break;
          (await importFile(join(dir, n)) ? out.done : out.rejected).push(n);
        }
      } catch (err) {
        log.error({ err }, 'tt10 import scan failed; will retry');
      }
      return out;
    })();
    running = pass;
    void pass.finally(() => {
      if (running === pass) running = undefined;
    });
    return pass;
  };

  let stopped = false;
  const timer = setInterval(() => void scan(), c.poll_ms);
  void scan();
  log.info({ stations: c.stations.length }, 'tt10 import watching');
  return {
    scan,
    doneDir,
    rejectedDir,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
