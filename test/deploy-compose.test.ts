import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '@envmon/ingest';
import { encodeBatch } from '@envmon/protocol';
import { resolveCluster } from '../ingest/src/config/cluster-config.ts';
import { influxdSkipReason, startInfluxd, type RunningInfluxd } from '../ingest/test/support/influxd.ts';
import { redisSkipReason, startRedis, type RunningRedis } from '../ingest/test/support/redis-server.ts';
import { jsonLineWith } from '../scripts/lib/child.ts';
import { freePort } from '../scripts/lib/test-server.ts';
import { until } from './support/stack.ts';

/**
 * deploy/compose.yaml (+ deploy/compose.cluster.yaml) run as far as a machine without a container runtime can:
 * the compose files are parsed and merged as compose merges them, each ingest service is started as
 * deploy/ingest.Dockerfile's CMD and ENV say (from the repository root, the image's WORKDIR), with its bind mount,
 * volumes, published ports and the `influxdb` / `redis` hostnames mapped to temp dirs, free loopback ports and
 * loopback influxd / redis-server. Then the services' own healthchecks must pass, the cluster must act as one
 * broker with alarm leases, and the names that drift silently (env vars, ports, volume paths) must agree.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const deployDir = join(root, 'deploy');
const skip = influxdSkipReason() ?? redisSkipReason();

// ---------------------------------------------------------------------------------------------------------------
// The files, parsed

interface Healthcheck {
  test: string[];
  timeout?: string;
  start_period?: string;
}
interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: Healthcheck;
  stop_grace_period?: string;
  [key: string]: unknown;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** `<<: *anchor` is YAML 1.1 merge-key syntax, which compose accepts. */
const loadCompose = (file: string): Compose => parse(readFileSync(join(deployDir, file), 'utf8'), { merge: true }) as Compose;
const composeText = (file: string): string => readFileSync(join(deployDir, file), 'utf8');

function envOf(s: Service): Record<string, string> {
  const e = s.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}
const dependsOf = (s: Service): Record<string, { condition: string }> =>
  Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, { condition: 'service_started' }])) : (s.depends_on ?? {});

/** `[ip:]host:container[/proto]` */
function parsePort(spec: string): { ip?: string; host: number; container: number } {
  const parts = spec.replace(/\/(tcp|udp)$/, '').split(':');
  if (parts.length === 2) return { host: Number(parts[0]), container: Number(parts[1]) };
  if (parts.length === 3) return { ip: parts[0]!, host: Number(parts[1]), container: Number(parts[2]) };
  throw new Error(`port ${spec}: only [ip:]host:container is understood here`);
}
/** `source:target[:mode]`; a source that is not a path names a volume. */
function parseVolume(spec: string): { source: string; target: string; named: boolean; readOnly: boolean } {
  const [source, target, mode] = spec.split(':');
  if (!source || !target) throw new Error(`volume ${spec}: expected source:target`);
  return { source, target, named: !/^[./~]/.test(source), readOnly: mode === 'ro' };
}

/**
 * Compose's merge of an override file, for the keys these files use: environment and depends_on merge key by key,
 * ports are appended (duplicates dropped), volumes replace the entry with the same mount target; anything else
 * the override sets replaces the base's value. New services are taken as they are.
 */
function mergeCompose(base: Compose, over: Compose): Compose {
  const services: Record<string, Service> = { ...base.services };
  for (const [name, o] of Object.entries(over.services)) {
    const b = services[name];
    if (!b) {
      services[name] = o;
      continue;
    }
    const m: Service = { ...b, ...o };
    if (o.environment) m.environment = { ...envOf(b), ...envOf(o) };
    if (o.depends_on) m.depends_on = { ...dependsOf(b), ...dependsOf(o) };
    if (o.ports) m.ports = [...new Set([...(b.ports ?? []), ...o.ports])];
    if (o.volumes) {
      const targets = new Set(o.volumes.map((v) => parseVolume(v).target));
      m.volumes = [...(b.volumes ?? []).filter((v) => !targets.has(parseVolume(v).target)), ...o.volumes];
    }
    services[name] = m;
  }
  return { services, volumes: { ...base.volumes, ...over.volumes } };
}

interface Dockerfile {
  env: Record<string, string>;
  cmd: string[];
  expose: number[];
  workdir: string;
  volumes: string[];
}
function loadDockerfile(): Dockerfile {
  const text = readFileSync(join(deployDir, 'ingest.Dockerfile'), 'utf8');
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.trimStart().startsWith('#'));
  const args = (kw: string) => lines.filter((l) => l.startsWith(`${kw} `)).map((l) => l.slice(kw.length + 1).trim());
  const env: Record<string, string> = {};
  for (const a of args('ENV')) for (const m of a.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  const cmd = args('CMD');
  expect(cmd, 'one CMD, in exec (JSON) form').toHaveLength(1);
  return {
    env,
    cmd: JSON.parse(cmd[0]!) as string[],
    expose: args('EXPOSE').flatMap((a) => a.split(/\s+/).map(Number)),
    workdir: args('WORKDIR').at(-1)!,
    volumes: args('VOLUME').flatMap((a) => (a.startsWith('[') ? (JSON.parse(a) as string[]) : a.split(/\s+/))),
  };
}

const single = loadCompose('compose.yaml');
const cluster = mergeCompose(single, loadCompose('compose.cluster.yaml'));
const image = loadDockerfile();
/** The services that run the ingest image: built from the Dockerfile, or the tag it is built as. */
const ingestServices = (c: Compose): string[] => {
  const tags = new Set(Object.values(c.services).filter((s) => s.build).map((s) => s.image));
  return Object.keys(c.services).filter((n) => c.services[n]!.build || tags.has(c.services[n]!.image));
};
const durationMs = (d: string): number => {
  const m = /^(\d+)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`duration ${d}: expected e.g. 30s`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
};

/** Every ENVMON_* / INFLUX_* name the ingest's own source reads (as `env.NAME` or a quoted 'NAME'). */
function readByIngest(name: string): boolean {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) files.push(join(dir, e.name));
    }
  };
  walk(join(root, 'ingest/src'));
  const re = new RegExp(`(env\\.${name}\\b|['"\`]${name}['"\`])`);
  return files.some((f) => re.test(readFileSync(f, 'utf8')));
}

// ---------------------------------------------------------------------------------------------------------------
// What drifts silently

describe('deploy compose files agree with the Dockerfile and the ingest', () => {
  it('sets only environment variables the ingest reads', () => {
    const named = new Set<string>();
    for (const c of [single, cluster]) for (const s of ingestServices(c)) for (const k of Object.keys(envOf(c.services[s]!))) named.add(k);
    // The image's ENV too (NODE_ENV is Node's and npm's, not ours), and names the comments tell operators to set.
    for (const k of Object.keys(image.env)) if (k !== 'NODE_ENV') named.add(k);
    for (const f of ['compose.yaml', 'compose.cluster.yaml']) for (const m of composeText(f).matchAll(/\b(?:ENVMON|INFLUX)_[A-Z0-9_]+\b/g)) named.add(m[0]);
    expect(named.size).toBeGreaterThan(5);
    expect([...named].filter((n) => !readByIngest(n)), 'set by compose/Dockerfile but read nowhere in ingest/src').toEqual([]);
  });

  it('publishes only ports the image EXPOSEs, HTTP and WebSocket on loopback only, no host port twice', () => {
    for (const c of [single, cluster]) {
      const published = new Set<string>();
      for (const name of ingestServices(c)) {
        const ports = (c.services[name]!.ports ?? []).map(parsePort);
        expect(ports.map((p) => p.container).sort(), `${name} container ports`).toEqual([...image.expose].sort());
        for (const p of ports) {
          // 8083: the MQTT WebSocket listener's default port (mqtt.websocket.port), for nginx like HTTP.
          if (p.container === Number(image.env.ENVMON_HTTP_PORT) || p.container === 8083) expect(p.ip, `${name} ${p.container} for nginx only`).toBe('127.0.0.1');
          const key = `${p.ip ?? '0.0.0.0'}:${p.host}`;
          expect(published.has(key), `host port ${key} published twice`).toBe(false);
          published.add(key);
        }
      }
    }
    expect(image.expose).toContain(Number(image.env.ENVMON_HTTP_PORT));
    expect(image.expose).toContain(Number(image.env.ENVMON_MQTT_PORT));
  });

  it("mounts each instance's own data volume on the image's ENVMON_DATA_DIR, the config read-only", () => {
    expect(image.volumes).toEqual([image.env.ENVMON_DATA_DIR]);
    for (const c of [single, cluster]) {
      const used = new Set<string>();
      for (const name of ingestServices(c)) {
        const vols = (c.services[name]!.volumes ?? []).map(parseVolume);
        const data = vols.filter((v) => v.named);
        expect(data.map((v) => v.target), `${name} data volume target`).toEqual([image.env.ENVMON_DATA_DIR]);
        expect(used.has(data[0]!.source), `${name} shares data volume ${data[0]!.source}`).toBe(false);
        used.add(data[0]!.source);
        expect(Object.keys(c.volumes ?? {}), 'declared top-level').toContain(data[0]!.source);
        const config = vols.find((v) => image.cmd.some((a) => a.startsWith(`${v.target}/`)));
        expect(config, `${name} mounts the directory of the CMD's --config`).toBeDefined();
        expect(config!.readOnly).toBe(true);
        expect(resolve(deployDir, config!.source)).toBe(join(deployDir, 'etc'));
      }
    }
  });

  it('runs the ingest on a shared InfluxDB; in the cluster with one Redis URL and distinct instance ids', () => {
    for (const c of [single, cluster]) {
      for (const name of ingestServices(c)) {
        const env = envOf(c.services[name]!);
        expect(new URL(env.INFLUX_URL!).hostname, `${name} INFLUX_URL`).toBe('influxdb');
        expect(env.INFLUX_DATABASE, 'the database the influxdb service creates').toBe(envOf(c.services.influxdb!).INFLUXDB_DB);
        for (const [dep, { condition }] of Object.entries(dependsOf(c.services[name]!))) {
          expect(c.services[dep], `${name} depends on ${dep}`).toBeDefined();
          if (condition === 'service_healthy') expect(c.services[dep]!.healthcheck, `${dep} healthcheck`).toBeDefined();
        }
      }
    }
    expect(ingestServices(single)).toEqual(['ingest']);
    expect(resolveCluster(undefined, envOf(single.services.ingest!)), 'compose.yaml alone is one instance').toBeUndefined();
    expect(single.services.redis, 'a single instance starts no Redis').toBeUndefined();

    const names = ingestServices(cluster);
    expect(names).toEqual(['ingest', 'ingest-2', 'ingest-3']);
    const settings = names.map((n) => resolveCluster(undefined, envOf(cluster.services[n]!)));
    expect(settings.every((s) => s !== undefined), 'cluster mode on every instance').toBe(true);
    expect(new Set(settings.map((s) => s!.redisUrl)).size).toBe(1);
    expect(new URL(settings[0]!.redisUrl).hostname).toBe('redis');
    expect(new Set(settings.map((s) => s!.instanceId)).size, 'distinct ENVMON_INSTANCE_ID').toBe(3);
    expect(cluster.services.redis?.profiles, 'redis starts without --profile').toBeUndefined();
    for (const n of names) expect(dependsOf(cluster.services[n]!).redis?.condition, n).toBe('service_healthy');
    // "Growing from one server" (ingest/README.md): the instance holding compose.yaml's volume starts first.
    for (const n of ['ingest-2', 'ingest-3']) expect(dependsOf(cluster.services[n]!).ingest?.condition, n).toBe('service_healthy');
  });

  it('makes ingest-2 and ingest-3 the same service as ingest but for id, ports and data volume', () => {
    const strip = (s: Service) => {
      const { environment, ports, volumes, ...rest } = s;
      const env = envOf({ environment });
      delete env.ENVMON_INSTANCE_ID;
      const { ingest: _first, ...deps } = dependsOf(s);
      return { ...rest, depends_on: deps, env, volumes: (volumes ?? []).filter((v) => !parseVolume(v).named), ports: (ports ?? []).map((p) => parsePort(p).container).sort() };
    };
    const base = strip(cluster.services.ingest!);
    for (const n of ['ingest-2', 'ingest-3']) expect(strip(cluster.services[n]!), n).toEqual(base);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Running them

interface Running {
  name: string;
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  exited: Promise<number | null>;
  startedAt: number;
}

const ADMIN = { authorization: 'Bearer demo-admin-token-change-me' }; // the demo's public admin token (demo.yaml)
const AIR_SECRET = 'demo-air-secret-change-me'; // DEMO_AIR01's public demo secret (demo.yaml, scripts/start.ts)
const WATER_SECRET = 'demo-water-secret-change-me';
const READER = { username: 'deploy-test-reader', password: 'deploy-test-reader-secret' };

/** Publishes one batch as a station and waits for the PUBACK (the WAL commit). */
async function publishAs(mqttPort: number, station: string, secret: string, readings: { param: string; time: number; value: number }[]): Promise<void> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: station, password: secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    const batch = encodeBatch({ station, seq: Date.now(), sent_at: Date.now(), readings: readings.map((r) => ({ ...r, status: 0, qc_flags: 0, period_s: 0 })) });
    await client.publishAsync(`envmon/v1/${station}/data`, Buffer.from(batch), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}
/** The alarm ids an instance lists for a rule. */
async function alarmIds(httpPort: number, rule: string): Promise<number[]> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/alarms?rule=${rule}`, { headers: ADMIN });
  if (!res.ok) throw new Error(`alarms: HTTP ${res.status}`);
  const body = (await res.json()) as { alarms?: { id: number }[] } | { id: number }[];
  return (Array.isArray(body) ? body : (body.alarms ?? [])).map((a) => a.id);
}

describe.skipIf(skip !== undefined)(`deploy compose files run natively${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir: string;
  let etcDir: string;
  let influx: RunningInfluxd;
  let redis: RunningRedis | undefined;
  const running = new Set<Running>();
  const volumeDirs = new Map<string, string>();
  let etcBefore = '';
  let singleAlarms: number[] = [];

  const snapshot = (d: string): string =>
    readdirSync(d)
      .sort()
      .map((f) => `${f} ${statSync(join(d, f)).size} ${statSync(join(d, f)).mtimeMs}`)
      .join('\n');

  /** The compose hostnames the ingest's env may name, and what stands in for each on loopback. */
  const standIns = (): Record<string, { port: number; url: URL }> => ({
    influxdb: { port: 8086, url: new URL(influx.url) }, // InfluxDB 1.x's HTTP port, as the influxdb healthcheck curls it
    ...(redis ? { redis: { port: 6379, url: new URL(redis.url) } } : {}), // redis:7's default port (no --port in its command)
  });

  /** Starts a compose service as `docker compose up` would start its container, natively; resolves on `ready`. */
  async function startService(c: Compose, name: string): Promise<Running> {
    const svc = c.services[name]!;
    const env: Record<string, string> = { ...image.env, ...envOf(svc) };
    // Container hostnames → the loopback stand-ins.
    const hosts = standIns();
    for (const [k, v] of Object.entries(env)) {
      if (!/^[a-z]+:\/\//.test(v)) continue;
      const u = new URL(v);
      if (!(u.hostname in c.services)) continue;
      const s = hosts[u.hostname];
      if (!s) throw new Error(`${name}: ${k} names service ${u.hostname}, which has no stand-in here`);
      expect(Number(u.port), `${k} port`).toBe(s.port);
      u.host = s.url.host;
      env[k] = u.toString().replace(/\/$/, v.endsWith('/') ? '/' : '');
    }
    // Mounts → temp dirs: the bind mount to the etc dir prepared as compose.yaml's header says, named volumes
    // to one dir per volume (kept across services and runs, as docker keeps a volume).
    const mounts = new Map<string, string>();
    for (const v of (svc.volumes ?? []).map(parseVolume)) {
      if (v.named) {
        if (!volumeDirs.has(v.source)) {
          volumeDirs.set(v.source, join(dir, 'volumes', v.source));
          mkdirSync(volumeDirs.get(v.source)!, { recursive: true });
        }
        mounts.set(v.target, volumeDirs.get(v.source)!);
      } else {
        expect(resolve(deployDir, v.source)).toBe(join(deployDir, 'etc'));
        mounts.set(v.target, etcDir);
      }
    }
    const mapPath = (p: string): string => {
      for (const [target, local] of mounts) if (p === target || p.startsWith(`${target}/`)) return local + p.slice(target.length);
      return p;
    };
    for (const [k, v] of Object.entries(env)) if (v.startsWith('/')) env[k] = mapPath(v);
    expect(env.ENVMON_DATA_DIR, 'ENVMON_DATA_DIR is on a volume').not.toBe(image.env.ENVMON_DATA_DIR);
    // Published ports → free host ports. The container listens on 0.0.0.0 inside its own network namespace and
    // only the `ports:` mappings reach it; natively 0.0.0.0 would put the demo's public admin token (and so
    // Node-RED, i.e. code execution) on every interface of this machine: loopback only.
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    Object.assign(env, { ENVMON_HTTP_HOST: '127.0.0.1', ENVMON_MQTT_HOST: '127.0.0.1', ENVMON_HTTP_PORT: String(httpPort), ENVMON_MQTT_PORT: String(mqttPort) });

    // The image's CMD from its WORKDIR (= the repository root); `node` is this node, the rest verbatim.
    const [node, ...args] = image.cmd;
    expect(node).toBe('node');
    const home = join(dir, `home-${name}`);
    mkdirSync(home, { recursive: true });
    // A container's environment: the image's and the service's variables, not this test runner's.
    const child = spawn(process.execPath, args.map(mapPath), { cwd: root, env: { PATH: process.env.PATH, HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
    child.stderr!.pipe(log, { end: false });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const r: Running = { name, child, httpPort, mqttPort, exited, startedAt: Date.now() };
    running.add(r);
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`${name} not ready within 40 s (log: ${join(dir, `${name}.log`)})`)), 40_000);
      const ready = jsonLineWith('ready');
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log.write(`${line}\n`);
        if (ready(line)) {
          clearTimeout(timer);
          ok();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        fail(new Error(`${name} exited with ${code} before ready: ${readFileSync(join(dir, `${name}.log`), 'utf8').slice(-2000)}`));
      });
    });
    return r;
  }

  /** Runs the service's compose healthcheck (`CMD node -e …`) with the container port mapped to the host port. */
  async function healthcheck(svc: Service, r: Pick<Running, 'httpPort'>): Promise<number> {
    const hc = svc.healthcheck!;
    expect(hc.test.slice(0, 2)).toEqual(['CMD', 'node']);
    const inContainer = `127.0.0.1:${image.env.ENVMON_HTTP_PORT}/`;
    const args = hc.test.slice(2).map((a) => a.replaceAll(inContainer, `127.0.0.1:${r.httpPort}/`));
    expect(args.join(' '), 'the healthcheck asks the port the image listens on').toContain(`127.0.0.1:${r.httpPort}/`);
    return new Promise((ok) => {
      execFile(process.execPath, args, { timeout: durationMs(hc.timeout ?? '30s'), env: { PATH: process.env.PATH } }, (err) =>
        ok(err ? (typeof err.code === 'number' ? err.code : 1) : 0),
      );
    });
  }

  /** `docker compose stop`: the image's STOPSIGNAL (SIGTERM), SIGKILL after stop_grace_period. */
  async function stopService(svc: Service, r: Running): Promise<number | null> {
    running.delete(r);
    if (r.child.exitCode !== null || r.child.signalCode !== null) return r.exited;
    r.child.kill('SIGTERM');
    const grace = setTimeout(() => r.child.kill('SIGKILL'), durationMs(svc.stop_grace_period ?? '10s'));
    const code = await r.exited;
    clearTimeout(grace);
    return code;
  }

  const stopAll = (): Promise<unknown> =>
    Promise.all(
      [...running].map(async (r) => {
        running.delete(r);
        if (r.child.exitCode !== null || r.child.signalCode !== null) return;
        r.child.kill('SIGTERM');
        const t = setTimeout(() => r.child.kill('SIGKILL'), 5000);
        await r.exited;
        clearTimeout(t);
      }),
    );
  const killOnExit = (): void => {
    for (const r of running) r.child.kill('SIGKILL');
  };

  beforeAll(async () => {
    process.once('exit', killOnExit);
    dir = mkdtempSync(join(tmpdir(), 'envmon-deploy-'));
    // compose.yaml's header, run as written (from a scratch "repository root" holding ingest/examples).
    const header = composeText('compose.yaml').split('\n').filter((l) => l.startsWith('#'));
    const prepare = header.map((l) => l.replace(/^#\s*/, '')).find((l) => l.startsWith('mkdir deploy/etc'));
    expect(prepare, 'the header says how to prepare deploy/etc').toBeDefined();
    const scratch = join(dir, 'checkout');
    mkdirSync(join(scratch, 'deploy'), { recursive: true });
    mkdirSync(join(scratch, 'ingest'));
    execFileSyncOk('cp', ['-r', join(root, 'ingest/examples'), join(scratch, 'ingest/examples')]);
    execFileSyncOk('sh', ['-ec', prepare!], scratch);
    etcDir = join(scratch, 'deploy/etc');
    // "edit deploy/etc/ingest.yaml": one read-only MQTT user, for the one-broker check.
    appendFileSync(
      join(etcDir, 'ingest.yaml'),
      `mqtt:\n  readers:\n    - { username: ${READER.username}, secret_hash: "${await hashSecret(READER.password)}" }\n`,
    );
    etcBefore = snapshot(etcDir);
    // The influxdb service's env creates this database; influxd here creates it the same way.
    influx = await startInfluxd({ database: envOf(single.services.influxdb!).INFLUXDB_DB! });
  }, 30_000);

  afterAll(async () => {
    process.removeListener('exit', killOnExit);
    await stopAll();
    await Promise.all([redis?.stop(), influx?.stop()]);
    if (dir && !process.env.KEEP_E2E) rmSync(dir, { recursive: true, force: true });
  });

  it('compose.yaml: the ingest becomes healthy on InfluxDB, and stops cleanly on SIGTERM', async () => {
    const svc = single.services.ingest!;
    const r = await startService(single, 'ingest');
    // The healthcheck can fail (nothing on the port), and passes once the ingest is ready.
    expect(await healthcheck(svc, { httpPort: await freePort() }), 'healthcheck against a dead port').not.toBe(0);
    await until('compose healthcheck passes', async () => ((await healthcheck(svc, r)) === 0 ? true : undefined), 20_000);
    expect(Date.now() - r.startedAt, 'healthy within start_period').toBeLessThan(durationMs(svc.healthcheck!.start_period ?? '0s'));
    const ready = (await (await fetch(`http://127.0.0.1:${r.httpPort}/readyz`)).json()) as { store: string };
    expect(ready.store, 'the InfluxDB store, not the embedded SQLite').toMatch(/influx/i);
    // An alarm in the single instance's volume (COD above QCVN 40 column B three times), for the cluster to inherit.
    const t = Date.now() - 60_000;
    await publishAs(r.mqttPort, 'DEMO_WATER01', WATER_SECRET, [0, 1, 2].map((k) => ({ param: 'COD', time: t + k * 10_000, value: 500 })));
    singleAlarms = await until('the COD alarm in the single instance', async () => {
      const ids = await alarmIds(r.httpPort, 'cod-qcvn40');
      return ids.length > 0 ? ids : undefined;
    }, 15_000);
    expect(await stopService(svc, r), 'exit code on SIGTERM').toBe(0);
  }, 60_000);

  it('compose.yaml + compose.cluster.yaml: three healthy instances, one broker, alarm leases spread', async () => {
    // Redis with the persistence the compose file gives it (its `command`), fsyncs and all.
    const command = (cluster.services.redis!.command ?? []) as string[];
    const fsync = command[command.indexOf('--appendfsync') + 1];
    expect(command, 'Redis keeps an append-only file').toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(fsync, 'appendfsync always: an instance forgets alarm rows Redis acknowledged').toBe('always');
    redis = await startRedis({ appendfsync: 'always' });
    const names = ingestServices(cluster);
    // In compose's order: a service starts once the ingest services it depends on are healthy (their healthcheck).
    const started = new Map<string, Promise<Running>>();
    const up = (n: string): Promise<Running> => {
      if (!started.has(n)) {
        started.set(n, (async () => {
          const deps = Object.entries(dependsOf(cluster.services[n]!)).filter(([d]) => names.includes(d));
          await Promise.all(deps.map(([d, { condition }]) => (condition === 'service_healthy' ? up(d) : Promise.resolve())));
          const r = await startService(cluster, n);
          await until(`${n} compose healthcheck passes`, async () => ((await healthcheck(cluster.services[n]!, r)) === 0 ? true : undefined), 20_000);
          return r;
        })());
      }
      return started.get(n)!;
    };
    const [one, two, three] = await Promise.all(names.map(up));

    // The single instance's alarm is the cluster's: listed by an instance that never held that volume.
    expect(singleAlarms.length).toBeGreaterThan(0);
    await until('the single instance\'s alarm on ingest-3', async () => ((await alarmIds(three!.httpPort, 'cod-qcvn40')).join() === singleAlarms.join() ? true : undefined), 10_000);

    // One broker: a reader on the third instance gets what DEMO_AIR01 publishes to the first.
    const reader = await mqtt.connectAsync(`mqtt://127.0.0.1:${three!.mqttPort}`, { ...READER, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    const station = await mqtt.connectAsync(`mqtt://127.0.0.1:${one!.mqttPort}`, { username: 'DEMO_AIR01', password: AIR_SECRET, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    // Every instance serves the live stream (what lets nginx balance /api/v1/stream): ingest-2's sees it too.
    const sse = new AbortController();
    const stream = await fetch(`http://127.0.0.1:${two!.httpPort}/api/v1/stream?station=DEMO_AIR01`, { headers: ADMIN, signal: sse.signal });
    expect(stream.status).toBe(200);
    const live = (async () => {
      let text = '';
      for await (const chunk of stream.body! as AsyncIterable<Uint8Array>) {
        text += Buffer.from(chunk).toString();
        if (text.includes('12.5')) return true;
      }
      return false;
    })().catch(() => false);
    try {
      await reader.subscribeAsync('envmon/v1/+/data', { qos: 1 });
      const got = new Promise<string>((ok) => reader.once('message', (topic) => ok(topic)));
      const t = Math.floor(Date.now() / 1000) * 1000;
      const batch = encodeBatch({ station: 'DEMO_AIR01', seq: 1, sent_at: Date.now(), readings: [{ param: 'PM2_5', time: t, value: 12.5, status: 0, qc_flags: 0, period_s: 0 }] });
      await station.publishAsync('envmon/v1/DEMO_AIR01/data', Buffer.from(batch), { qos: 1 });
      expect(await Promise.race([got, new Promise((ok) => setTimeout(() => ok('nothing within 10 s'), 10_000))])).toBe('envmon/v1/DEMO_AIR01/data');
      expect(await Promise.race([live, new Promise((ok) => setTimeout(() => ok('nothing within 10 s'), 10_000))]), 'reading on ingest-2 /stream').toBe(true);

      // Stored once in the shared InfluxDB: readable through the second instance's API.
      await until('the reading through ingest-2', async () => {
        const res = await fetch(`http://127.0.0.1:${two!.httpPort}/api/v1/series?station=DEMO_AIR01&param=PM2_5&from=${t}&to=${t + 1}`, { headers: ADMIN });
        const pts = ((await res.json()) as { points?: { value: number }[] }).points ?? [];
        return pts.length === 1 && pts[0]!.value === 12.5 ? true : undefined;
      }, 10_000);
    } finally {
      sse.abort();
      await Promise.all([reader.endAsync(), station.endAsync()]);
    }

    // Alarm leases: each of the demo's two stations owned by exactly one instance.
    await until('both stations leased', async () => {
      let owned = 0;
      for (const r of [one, two, three]) {
        const m = /^envmon_alarm_stations_owned (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${r!.httpPort}/metrics`)).text());
        if (!m) return undefined;
        owned += Number(m[1]);
      }
      return owned === 2 ? true : undefined;
    }, 20_000);

    const codes = await Promise.all(names.map((n, k) => stopService(cluster.services[n]!, [one, two, three][k]!)));
    expect(codes, 'exit codes on SIGTERM').toEqual([0, 0, 0]);
  }, 90_000);

  it('leaves the read-only config mount as it found it, and writes nothing outside the volumes', () => {
    expect(snapshot(etcDir)).toBe(etcBefore);
    for (const d of readdirSync(dir).filter((d) => d.startsWith('home-'))) expect(readdirSync(join(dir, d)), `${d} (not a volume: lost with the container)`).toEqual([]);
  });
});

function execFileSyncOk(cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}
