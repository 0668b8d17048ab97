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
});
