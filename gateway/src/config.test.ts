import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@envmon/hardware';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig, parseGatewayConfig } from './config.ts';

const GOOD = `station: DEMO_AIR01
broker:
  url: mqtt://127.0.0.1:1883
  password_env: ENVMON_STATION_SECRET
devices:
  - id: aqm1
    profile: generic-ambient-air
    transport: { kind: tcp, host: 127.0.0.1, port: 5020 }
`;
const ENV = { ENVMON_STATION_SECRET: 's3cret', ENVMON_DATA_DIR: '/var/lib/envmon' };

function issuesOf(text: string, env: NodeJS.ProcessEnv = ENV) {
  try {
    parseGatewayConfig(text, 'station.yaml', { env, baseDir: '/nonexistent' });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected the config to be rejected');
}

describe('gateway config', () => {
  it('fills defaults, resolves the secret, the profile and the data dir', () => {
    const c = parseGatewayConfig(GOOD, 'station.yaml', { env: ENV });
    expect(c.station).toBe('DEMO_AIR01');
    expect(c.broker).toMatchObject({ url: 'mqtt://127.0.0.1:1883', username: 'DEMO_AIR01', password: 's3cret', keepaliveS: 30 });
    expect(c.dataDir).toBe('/var/lib/envmon/gateway/DEMO_AIR01');
    expect(c.archiveDays).toBe(60);
    expect(c.publish).toEqual({ maxBatch: 500, intervalMs: 1000, maxInFlight: 8, statusIntervalMs: 60_000, maxReadingsPerS: 2000, replayAfterMs: 60_000 });
    expect(c.outbox).toEqual({ maxReadings: 5_000_000, maxAgeMs: 60 * 86_400_000 });
    expect(c.averaging).toEqual([60, 300]);
    expect(c.devices[0]).toMatchObject({ id: 'aqm1', driver: 'modbus', unitId: 1, pollIntervalMs: 10_000, timeoutMs: 1000, retries: 1, quarantineAfter: 3, maxGap: 0, transport: { kind: 'tcp', host: '127.0.0.1', port: 5020 } });
    const d = c.devices[0]!;
    expect(d.driver === 'modbus' && d.profile.id).toBe('generic-ambient-air');
  });

  it('loads the shipped examples', () => {
    for (const f of ['demo-air.yaml', 'demo-water.yaml']) {
      const c = loadGatewayConfig(new URL(`../examples/${f}`, import.meta.url).pathname, { env: ENV });
      expect(c.devices.length).toBeGreaterThan(0);
    }
  });

  it('names the line of a bad value and of a typo, with the fix', () => {
    const issues = issuesOf(GOOD.replace('port: 5020', 'port: 70000').replace('  url:', '  ulr:'));
    expect(issues).toHaveLength(3);
    const byPath = new Map(issues.map((i) => [i.path, i]));
    expect(byPath.get('broker')).toMatchObject({ line: 3, message: 'unknown field `ulr`: did you mean `url`?' });
    expect(byPath.get('broker.url')).toMatchObject({ line: 2, message: 'missing: add `url`; a broker URL (string), or a list of them' });
    expect(byPath.get('devices[0].transport.port')).toMatchObject({ line: 8 });
    expect(byPath.get('devices[0].transport.port')!.message).toMatch(/65535/);
  });

  it('says which environment variable is missing, at its line', () => {
    const [i] = issuesOf(GOOD, {});
    expect(i).toMatchObject({ line: 4, path: 'broker.password_env' });
    expect(i!.message).toMatch(/ENVMON_STATION_SECRET is not set; export it/);
  });

  it('reports an unknown profile at the device line, listing the known ones', () => {
    const [i] = issuesOf(GOOD.replace('generic-ambient-air', 'ambient-air'));
    expect(i).toMatchObject({ line: 7, path: 'devices[0].profile' });
    expect(i!.message).toMatch(/no profile named "ambient-air".*generic-ambient-air/);
  });

  it('refuses two devices with one id or one parameter', () => {
    const text = GOOD + `  - id: aqm1
    profile: generic-ambient-air
    transport: { kind: tcp, host: 127.0.0.1, port: 5021 }
`;
    const issues = issuesOf(text);
    expect(issues.map((i) => [i.line, i.path])).toEqual([
      [9, 'devices[1].id'],
      [10, 'devices[1].profile'],
    ]);
    expect(issues[1]!.message).toMatch(/PM2_5, PM10, .*RH are also read by device aqm1/);
  });

  it('refuses less than 60 days of archive, citing TT10', () => {
    const [i] = issuesOf(GOOD + 'archive_days: 30\n');
    expect(i).toMatchObject({ line: 9, path: 'archive_days' });
    expect(i!.message).toMatch(/TT10\/2021 requires/);
  });

  it('refuses an unknown transport, and a serial driver over TCP', () => {
    const [i] = issuesOf(GOOD.replace('kind: tcp', 'kind: rtu'));
    expect(i).toMatchObject({ line: 8, path: 'devices[0].transport.kind' });
    const [j] = issuesOf(GOOD.replace('    profile: generic-ambient-air\n', '    driver: pms\n'));
    expect(j).toMatchObject({ line: 8, path: 'devices[0].transport.kind' });
    expect(j!.message).toMatch(/use transport kind serial/);
  });

  it('reads RTU, RTU-over-TCP, serial sensors, Firmata pins and the station sections', () => {
    const text = `station: ST1
broker: { url: 'mqtt://127.0.0.1:1883', password: x }
outbox: { max_readings: 20000, max_age_days: 7 }
averaging: [60]
calibration:
  - { params: [PH], at: "02:00", duration_min: 15, weekdays: [1, 4] }
http: { port: 0 }
devices:
  - { id: ph1, profile: generic-wastewater, transport: { kind: serial, path: /dev/ttyUSB0, baud_rate: 19200, parity: even }, unit_id: 3, retries: 2, max_gap: 4 }
  - { id: aq1, profile: ./air.yaml, transport: { kind: rtu-over-tcp, host: 10.0.0.5, port: 4001 }, unit_id: 7, max_bit_gap: 16 }
  - id: met
    driver: ascii
    transport: { kind: serial, path: /dev/ttyUSB1 }
    ascii: { match: '^\\$WX', fields: [{ param: TEMP, index: 1 }] }
`;
    const dir = mkdtempSync(join(tmpdir(), 'envmon-gwcfg-'));
    // An air profile without TEMP, so the ASCII weather sensor can own it.
    writeFileSync(join(dir, 'air.yaml'), 'id: air-no-temp\nmanufacturer: Generic\nmodel: x\nsource: generic profile, not from a datasheet\naddress_base: 0\nregisters:\n  - { param: SO2, function: 4, address: 0, type: float32 }\n');
    const c = parseGatewayConfig(text, join(dir, 'st.yaml'), { env: {} });
    expect(c.devices.map((d) => [d.driver, d.transport.kind])).toEqual([['modbus', 'serial'], ['modbus', 'rtu-over-tcp'], ['ascii', 'serial']]);
    expect(c.devices[0]).toMatchObject({ unitId: 3, retries: 2, maxGap: 4, maxBitGap: 0, transport: { path: '/dev/ttyUSB0', baudRate: 19200, parity: 'even', dataBits: 8, stopBits: 1 } });
    expect(c.devices[1]).toMatchObject({ maxBitGap: 16 });
    expect(c.calibration).toEqual([{ params: ['PH'], atMin: 120, durationMin: 15, weekdays: [1, 4] }]);
    expect(c.outbox).toEqual({ maxReadings: 20000, maxAgeMs: 7 * 86_400_000 });
    expect(c.http).toEqual({ host: '127.0.0.1', port: 0 });
    const bad = text.replace('param: TEMP', 'param: PH').replace('params: [PH]', 'params: [DO]');
    try {
      parseGatewayConfig(bad, join(dir, 'st.yaml'), { env: {} });
      throw new Error('accepted');
    } catch (err) {
      const issues = (err as ConfigError).issues.map((i) => `${i.line} ${i.path}: ${i.message}`);
      expect(issues.some((m) => /devices\[2\]\.ascii: PH is also read by device ph1/.test(m)), issues.join('\n')).toBe(true);
      expect(issues.some((m) => /calibration\[0\]\.params\[0\]: DO is read by no device/.test(m)), issues.join('\n')).toBe(true);
    }
  });

  it('reads password_file relative to the config and never puts the secret in an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'envmon-gwcfg-'));
    writeFileSync(join(dir, 'secret.txt'), 'file-secret\n');
    writeFileSync(join(dir, 'st.yaml'), GOOD.replace('password_env: ENVMON_STATION_SECRET', 'password_file: secret.txt'));
    expect(loadGatewayConfig(join(dir, 'st.yaml'), { env: {} }).broker.password).toBe('file-secret');
    writeFileSync(join(dir, 'bad.yaml'), GOOD.replace('password_env: ENVMON_STATION_SECRET', 'password: hunter2\n  password_env: X').replace('port: 5020', 'port: -1'));
    let message = '';
    try {
      loadGatewayConfig(join(dir, 'bad.yaml'), { env: { X: 'y' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/bad\.yaml:2 broker: give the password one way only/);
    expect(message).not.toMatch(/hunter2/);
  });

  it('accepts the reference config in gateway/README.md', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'));
    const yaml = section.slice(section.indexOf('```yaml\n') + 8, section.indexOf('\n```', section.indexOf('```yaml')));
    const c = parseGatewayConfig(yaml, join(tmpdir(), 'readme.yaml'), { env: ENV });
    expect(c.devices.map((d) => d.driver)).toEqual(['modbus', 'modbus', 'modbus', 'modbus', 'ascii', 'pms', 'firmata']);
  });

  it('names a missing config file', () => {
    expect(() => loadGatewayConfig('/nonexistent/station.yaml')).toThrow(/cannot read the config \(ENOENT\)/);
  });
});
