import { readdirSync } from 'node:fs';
import { catalogue } from '@envmon/protocol';
import { describe, expect, it } from 'vitest';
import { rawRange, wordCount } from '../registers.ts';
import { GENERIC_SOURCE } from './schema.ts';
import { PROFILES_DIR, listProfiles, loadProfile } from './load.ts';

// Invariants over every shipped profile (the schema checks each file; these check what a reviewer would).
const files = readdirSync(PROFILES_DIR).filter((f) => !f.startsWith('.'));

describe('shipped profiles', () => {
  it('are all .yaml files, and there are some', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(f).toMatch(/^[a-z0-9-]+\.yaml$/);
    expect(listProfiles()).toEqual(files.map((f) => f.replace(/\.yaml$/, '')).sort());
  });

  for (const name of listProfiles()) {
    describe(name, () => {
      const p = loadProfile(name);

      it('has the file name as id and a source', () => {
        expect(p.id).toBe(name);
        // Either a citation or the plain admission that it is generic; never empty or vague.
        if (p.manufacturer.toLowerCase() === 'generic') expect(p.source).toBe(GENERIC_SOURCE);
        else expect(p.source).not.toBe(GENERIC_SOURCE);
      });

      it('maps each parameter once, from the catalogue', () => {
        const params = p.registers.map((r) => r.param);
        expect(new Set(params).size).toBe(params.length);
        for (const code of params) expect(catalogue().has(code), code).toBe(true);
      });

      it('has no two entries on the same register or bit (status entries may share a status word, with distinct bits)', () => {
        const used = new Map<string, string>();
        const claim = (fn: number, addr: number, what: string): void => {
          const key = `${fn}:${addr}`;
          expect(used.get(key), `${what} overlaps ${used.get(key)}`).toBeUndefined();
          used.set(key, what);
        };
        for (const r of p.registers) for (let i = 0; i < wordCount(r.type); i++) claim(r.function, r.wireAddress + i, r.param);
        const words = new Map<string, number[]>();
        for (const s of p.status) {
          const key = `${s.function}:${s.wireAddress}`;
          if (!words.has(key)) claim(s.function, s.wireAddress, `status at ${s.address}`);
          const bits = [...(words.get(key) ?? []), ...[s.faultBit, s.calibrationBit, s.humidityBit].filter((b): b is number => b !== undefined)];
          expect(new Set(bits).size, `status word ${s.address}: a bit used twice`).toBe(bits.length);
          words.set(key, bits);
        }
        for (const b of p.bits) claim(b.function, b.wireAddress, `bit ${b.name}`); // bit tables (1, 2) never meet register tables (3, 4)
      });

      it('simulates every register inside the catalogue range and the register type', () => {
        for (const r of p.registers) {
          expect(r.sim, `${r.param} needs a sim section`).toBeDefined();
          const [lo, hi] = catalogue().get(r.param)!.range;
          expect(r.sim!.min).toBeGreaterThanOrEqual(lo);
          expect(r.sim!.max).toBeLessThanOrEqual(hi);
          const [rlo, rhi] = rawRange(r.type);
          expect((r.sim!.max - r.offset) / r.scale).toBeLessThanOrEqual(rhi);
          expect((r.sim!.min - r.offset) / r.scale).toBeGreaterThanOrEqual(rlo);
          // A simulated value must never be mistaken for "no value".
          for (const s of r.sentinels) {
            const raw = (s * r.scale) + r.offset;
            expect(raw < r.sim!.min || raw > r.sim!.max, `${r.param} sentinel ${s} lies inside the simulated range`).toBe(true);
          }
        }
      });

      it('reports status only for parameters it maps', () => {
        const params = new Set(p.registers.map((r) => r.param));
        for (const s of p.status) for (const code of s.params) expect(params.has(code)).toBe(true);
      });
    });
  }

  it('exercise every register type and word order between them', () => {
    const regs = listProfiles().flatMap((n) => loadProfile(n).registers);
    expect(new Set(regs.map((r) => r.type))).toEqual(new Set(['int16', 'uint16', 'int32', 'uint32', 'float32']));
    expect(new Set(regs.filter((r) => r.type.endsWith('32')).map((r) => r.wordOrder))).toEqual(new Set(['ABCD', 'CDAB', 'BADC', 'DCBA']));
  });
});
