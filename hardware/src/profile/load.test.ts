import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../yaml-config.ts';
import { loadProfile, parseProfile, resolveProfilePath } from './load.ts';

const GOOD = `id: test-device
manufacturer: Acme
model: AQ-1
source: Acme AQ-1 Modbus manual rev 3, table 5
address_base: 1
word_order: CDAB
registers:
  - param: PM2_5
    function: 4
    address: 1
    type: float32
  - param: TEMP
    function: 3
    address: 1
    type: int16
    scale: 0.1
    sentinels: [-32768]
status:
  - { function: 3, address: 2, fault_bit: 0 }
`;

/** Parses `text` expecting a ConfigError, and returns its issues. */
function issuesOf(text: string) {
  try {
    parseProfile(text, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected the profile to be rejected');
}

describe('profile loading', () => {
  it('normalises a valid profile: wire addresses, inherited word order, defaults', () => {
    const p = parseProfile(GOOD, 'good.yaml');
    expect(p.registers[0]).toMatchObject({ param: 'PM2_5', wireAddress: 0, wordOrder: 'CDAB', scale: 1, offset: 0, sentinels: [] });
    expect(p.registers[1]).toMatchObject({ param: 'TEMP', wireAddress: 0, function: 3, scale: 0.1 });
    expect(p.status[0]).toMatchObject({ wireAddress: 1, faultBit: 0, calibrationBit: undefined, params: ['PM2_5', 'TEMP'] });
    expect(p.maxRegistersPerRead).toBe(125);
  });

  it('names the line of an unknown parameter and lists the codes', () => {
    const [i, ...rest] = issuesOf(GOOD.replace('param: TEMP', 'param: TEMPERATURE'));
    expect(rest).toEqual([]);
    expect(i).toMatchObject({ file: 'bad.yaml', line: 12, path: 'registers[1].param' });
    expect(i!.message).toMatch(/unknown parameter "TEMPERATURE".*TEMP/);
  });

  it('names the line of a wrong type and of a bad enum value', () => {
    const issues = issuesOf(GOOD.replace('type: int16', 'type: int24').replace('word_order: CDAB', 'word_order: cdab'));
    expect(issues.map((i) => [i.line, i.path])).toEqual([
      [6, 'word_order'],
      [15, 'registers[1].type'],
    ]);
    expect(issues[1]!.message).toMatch(/"int24" is not allowed; use one of "int16", "uint16"/);
  });

  it('suggests the field a typo meant', () => {
    const [i] = issuesOf(GOOD.replace('    scale: 0.1', '    sacle: 0.1'));
    expect(i).toMatchObject({ line: 16, path: 'registers[1]' });
    expect(i!.message).toBe('unknown field `sacle`: did you mean `scale`?');
  });

  it('reports a missing field at its parent, saying what to add', () => {
    const [i] = issuesOf(GOOD.replace('    type: float32\n', ''));
    expect(i).toMatchObject({ line: 8, path: 'registers[0].type' });
    expect(i!.message).toMatch(/missing: add `type`/);
  });

  it('rejects overlapping registers, naming both', () => {
    const [i] = issuesOf(GOOD.replace('  - { function: 3, address: 2, fault_bit: 0 }', '  - { function: 4, address: 2, fault_bit: 0 }'));
    expect(i).toMatchObject({ line: 19, path: 'status[0].address' });
    expect(i!.message).toMatch(/overlaps registers\[0\] \(PM2_5\)/);
  });

  it('rejects an address below address_base and explains 1-based numbering', () => {
    const [i] = issuesOf(GOOD.replace('    address: 1\n    type: float32', '    address: 0\n    type: float32'));
    expect(i).toMatchObject({ line: 10, path: 'registers[0].address' });
    expect(i!.message).toMatch(/below address_base 1/);
  });

  it('explains a 4xxxx reference', () => {
    const [i] = issuesOf(GOOD.replace('address_base: 1', 'address_base: 0').replace('    address: 1\n    type: float32', '    address: 430001\n    type: float32'));
    expect(i!.message).toMatch(/"4xxxx" reference\? write 1 with address_base 1/);
  });

  it('rejects a duplicate parameter and a sentinel the type cannot hold', () => {
    const issues = issuesOf(GOOD.replace('param: TEMP', 'param: PM2_5').replace('[-32768]', '[-40000]'));
    expect(issues.map((i) => i.path)).toEqual(['registers[1].param', 'registers[1].sentinels[0]']);
    expect(issues[0]!.message).toMatch(/already mapped by registers\[0\]/);
  });

  it('reports a YAML syntax error with its line', () => {
    const [i] = issuesOf(GOOD.replace('    type: float32', '   type: float32\n  - oops: [1,'));
    expect(i!.line).toBe(11);
    expect(i!.message).toMatch(/^YAML syntax/);
  });

  it('puts file, line and path in the error text', () => {
    expect(() => parseProfile(GOOD.replace('function: 4', 'function: 6'), 'acme.yaml')).toThrow(/acme\.yaml:9 registers\[0\]\.function: function must be 3/);
  });

  it('resolves names to shipped files and paths against cwd', () => {
    expect(resolveProfilePath('generic-ambient-air')).toMatch(/hardware\/profiles\/generic-ambient-air\.yaml$/);
    expect(resolveProfilePath('x/y.yaml', '/tmp')).toBe('/tmp/x/y.yaml');
    expect(() => resolveProfilePath('no-such-profile')).toThrow(/no profile named "no-such-profile".*generic-wastewater/);
  });

  it('loads a profile from a path and names a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'envmon-profile-'));
    writeFileSync(join(dir, 'acme.yaml'), GOOD);
    expect(loadProfile(join(dir, 'acme.yaml')).id).toBe('test-device');
    expect(() => loadProfile(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml.*cannot read the file \(ENOENT\)/s);
  });
  it('reads coils and discrete inputs: roles, active level, params, wire addresses', () => {
    const p = parseProfile(
      GOOD.replace('status:', `bits:
  - { name: FLOW ALARM, function: 2, address: 10001, role: fault, params: [PM2_5] }
  - { name: SYSTEM OK, function: 2, address: 10002, role: fault, active: low }
  - { name: ZERO CAL, function: 1, address: 1, role: calibration }
  - { name: HUMID, function: 2, address: 10003, role: humidity, params: [PM2_5] }
status:`),
      'good.yaml',
    );
    expect(p.bits).toMatchObject([
      { name: 'FLOW ALARM', function: 2, wireAddress: 10000, role: 'fault', activeLow: false, params: ['PM2_5'] },
      { name: 'SYSTEM OK', wireAddress: 10001, activeLow: true, params: ['PM2_5', 'TEMP'] },
      { name: 'ZERO CAL', function: 1, wireAddress: 0, role: 'calibration' },
      { name: 'HUMID', role: 'humidity', params: ['PM2_5'] },
    ]);
    expect(p.maxBitsPerRead).toBe(2000);
    expect(p.maxBitGap).toBe(0);
    const reading = parseProfile(GOOD.replace('status:', 'bits:\n  - { name: PUMP, function: 1, address: 5, role: reading, param: RH }\nstatus:'), 'good.yaml');
    expect(reading.bits[0]).toMatchObject({ role: 'reading', param: 'RH', params: [] });
    expect(reading.status[0]!.params).toEqual(['PM2_5', 'TEMP', 'RH']);
  });

  it('names the line of each mistake in bits', () => {
    const shape = issuesOf(
      GOOD.replace(
        'status:',
        `max_bits_per_read: 4000
bits:
  - { name: A, function: 3, address: 1, role: fault }
  - { name: B, function: 2, address: 1, role: alarm }
  - { name: C, function: 2, address: 2, role: reading }
  - { name: F, function: 2, address: 5, role: fault, param: TEMP }
status:`,
      ),
    );
    const at = (issues: ReturnType<typeof issuesOf>, path: string) => issues.find((i) => i.path === path);
    expect(at(shape, 'max_bits_per_read')).toMatchObject({ line: 18, file: 'bad.yaml' });
    expect(at(shape, 'bits[0].function')).toMatchObject({ line: 20 });
    expect(at(shape, 'bits[0].function')!.message).toMatch(/1 \(read coils.*2 \(read discrete inputs/);
    expect(at(shape, 'bits[1].role')).toMatchObject({ line: 21 });
    expect(at(shape, 'bits[2].param')!.message).toMatch(/reading bit needs `param`/);
    expect(at(shape, 'bits[3].param')!.message).toMatch(/params: \[TEMP\]/);

    const cross = issuesOf(
      GOOD.replace(
        'status:',
        `bits:
  - { name: D, function: 2, address: 3, role: reading, param: PM2_5 }
  - { name: E, function: 2, address: 4, role: reading, param: PRESS }
  - { name: F, function: 2, address: 4, role: fault, params: [NO2] }
  - { name: F, function: 1, address: 4, role: fault }
status:`,
      ),
    );
    expect(at(cross, 'bits[0].param')).toMatchObject({ line: 19 });
    expect(at(cross, 'bits[0].param')!.message).toMatch(/PM2_5 is already mapped/);
    expect(at(cross, 'bits[1].param')!.message).toMatch(/PRESS cannot hold a 0\/1 value/);
    expect(at(cross, 'bits[2].address')!.message).toMatch(/same bit as bits\[1\]/);
    expect(at(cross, 'bits[2].params[0]')!.message).toMatch(/NO2 is not mapped/);
    expect(at(cross, 'bits[3].name')!.message).toMatch(/already has the name "F"/);
    expect(at(cross, 'bits[3].address')).toBeUndefined(); // coil 4 and discrete input 4 are different bits
  });

  it('lets status entries share one status word, but not a value register', () => {
    const p = parseProfile(GOOD.replace('fault_bit: 0 }', 'fault_bit: 0, params: [PM2_5] }\n  - { function: 3, address: 2, fault_bit: 1, params: [TEMP] }'), 'good.yaml');
    expect(p.status.map((s) => [s.wireAddress, s.faultBit, s.params])).toEqual([[1, 0, ['PM2_5']], [1, 1, ['TEMP']]]);
    const [i] = issuesOf(GOOD.replace('fault_bit: 0 }', 'fault_bit: 0 }\n  - { function: 3, address: 1, fault_bit: 1 }'));
    expect(i).toMatchObject({ line: 20, path: 'status[1].address' });
    expect(i!.message).toMatch(/overlaps registers\[1\] \(TEMP\)/);
  });

  it('accepts a humidity bit in a status register, distinct from the other bits', () => {
    const p = parseProfile(GOOD.replace('fault_bit: 0 }', 'fault_bit: 0, humidity_bit: 2 }'), 'good.yaml');
    expect(p.status[0]).toMatchObject({ faultBit: 0, humidityBit: 2 });
    const [i] = issuesOf(GOOD.replace('fault_bit: 0 }', 'fault_bit: 0, humidity_bit: 0 }'));
    expect(i).toMatchObject({ line: 19, path: 'status[0].humidity_bit' });
  });
});
