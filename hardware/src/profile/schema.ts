import { catalogue } from '@envmon/protocol';
import { z } from 'zod';
import { REGISTER_TYPES, WORD_ORDERS, rawRange, wordCount } from '../registers.ts';

/**
 * The device-profile format: a Modbus register map as data. One file per device model; the README in this
 * room documents every field. The zod schema is the single definition: it yields the TypeScript type, the
 * validation at load, and the error messages (each says what to change).
 */

export const GENERIC_SOURCE = 'generic profile, not from a datasheet';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const EpisodeSchema = z.strictObject({
  peak: finite.describe('value the episode rises to at its height, in catalogue units'),
  probability_per_hour: z.number().min(0).max(1, 'a probability: between 0 and 1'),
  duration_min: z.number().positive().max(7 * 24 * 60, 'at most a week (10080 minutes)'),
});

const SimSchema = z
  .strictObject({
    base: finite,
    diurnal_amplitude: finite.default(0),
    peak_hour: z.number().min(0).max(24, 'an hour of the day, 0..24 (station local time, UTC+7)').default(8),
    noise: z.number().min(0, 'a standard deviation: 0 or more').default(0),
    episode: EpisodeSchema.optional(),
    min: finite,
    max: finite,
  })
  .refine((s) => s.min < s.max, { message: 'min must be below max', path: ['max'] });

const RegisterSchema = z.strictObject({
  param: z.string(),
  function: z.union([z.literal(3), z.literal(4)], {
    error: 'function must be 3 (read holding registers, "4xxxx") or 4 (read input registers, "3xxxx")',
  }),
  address: z.number().int('a whole register address').min(0),
  type: z.enum(REGISTER_TYPES),
  word_order: z.enum(WORD_ORDERS).optional(),
  scale: finite.refine((v) => v !== 0, 'scale 0 would erase the value; use 1 for no scaling').default(1),
  offset: finite.default(0),
  sentinels: z.array(finite).default([]),
  sim: SimSchema.optional(),
});

const StatusSchema = z
  .strictObject({
    function: z.union([z.literal(3), z.literal(4)], { error: 'function must be 3 (holding) or 4 (input)' }),
    address: z.number().int().min(0),
    fault_bit: z.number().int().min(0).max(15, 'a bit of a 16-bit register: 0..15').optional(),
    calibration_bit: z.number().int().min(0).max(15, 'a bit of a 16-bit register: 0..15').optional(),
    params: z.array(z.string()).optional(),
  })
  .refine((s) => s.fault_bit !== undefined || s.calibration_bit !== undefined, {
    message: 'a status register needs fault_bit, calibration_bit or both',
  })
  .refine((s) => s.fault_bit === undefined || s.fault_bit !== s.calibration_bit, {
    message: 'fault_bit and calibration_bit must be different bits',
    path: ['calibration_bit'],
  });

export const ProfileFileSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and -, e.g. "acme-aqm65"'),
    manufacturer: z.string().min(1),
    model: z.string().min(1),
    source: z
      .string()
      .min(10, `cite the datasheet or manual (title, revision, page), or write "${GENERIC_SOURCE}"`),
    address_base: z.union([z.literal(0), z.literal(1)], {
      error: 'address_base must be 0 (addresses are the offsets sent on the wire) or 1 (register numbers counted from 1)',
    }),
    word_order: z.enum(WORD_ORDERS).default('ABCD'),
    max_registers_per_read: z.number().int().min(1).max(125, 'Modbus allows at most 125 registers per read').default(125),
    // How many unmapped registers one read may span. 0 (the default): never read across a gap, because many
    // devices answer exception 02 for a read that touches an unmapped register. A device whose manual says it
    // answers unmapped registers (with 0 or filler) can set it, and the gateway config can lower it per device.
    max_read_gap: z.number().int().min(0).max(123, 'a gap of at most 123 registers still fits a 125-register read').default(0),
    registers: z.array(RegisterSchema).min(1, 'list at least one register'),
    status: z.array(StatusSchema).default([]),
  })
  .superRefine(checkProfile);

type ProfileFile = z.output<typeof ProfileFileSchema>;

/** Cross-field rules: catalogue codes, unique params, addresses that fit and do not overlap. */
function checkProfile(p: ProfileFile, ctx: z.RefinementCtx): void {
  const cat = catalogue();
  const seen = new Map<string, number>();
  const spans: { fn: number; from: number; to: number; path: (string | number)[]; what: string }[] = [];
  const wireOf = (address: number, path: (string | number)[]): number | undefined => {
    const wire = address - p.address_base;
    if (wire < 0) {
      ctx.addIssue({ code: 'custom', path, message: `address ${address} is below address_base ${p.address_base}; with address_base 1 the first register is 1` });
      return undefined;
    }
    if (wire > 0xffff) {
      const hint = address >= 30001 ? `; a "${String(address)[0]}xxxx" reference? write ${address % 10000} with address_base 1` : '';
      ctx.addIssue({ code: 'custom', path, message: `address ${address} is beyond the 65536 registers of a Modbus table${hint}` });
      return undefined;
    }
    return wire;
  };

  p.registers.forEach((r, i) => {
    const param = cat.get(r.param);
    if (!param) {
      ctx.addIssue({ code: 'custom', path: ['registers', i, 'param'], message: `unknown parameter "${r.param}"; use a code from protocol/parameters.yaml (${cat.codes().join(', ')})` });
    }
    const first = seen.get(r.param);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['registers', i, 'param'], message: `${r.param} is already mapped by registers[${first}]; a profile maps each parameter once` });
    } else seen.set(r.param, i);
    const wire = wireOf(r.address, ['registers', i, 'address']);
    if (wire !== undefined) {
      const to = wire + wordCount(r.type) - 1;
      if (to > 0xffff) ctx.addIssue({ code: 'custom', path: ['registers', i, 'address'], message: `a ${r.type} at ${r.address} runs past the last register` });
      spans.push({ fn: r.function, from: wire, to, path: ['registers', i, 'address'], what: `registers[${i}] (${r.param})` });
    }
    for (const [j, s] of r.sentinels.entries()) {
      const [lo, hi] = rawRange(r.type);
      if (r.type !== 'float32' && (!Number.isInteger(s) || s < lo || s > hi)) {
        ctx.addIssue({ code: 'custom', path: ['registers', i, 'sentinels', j], message: `sentinel ${s} cannot occur in a ${r.type} register (${lo}..${hi}); sentinels are raw register values, before scale` });
      }
    }
    if (r.sim && param) {
      const [lo, hi] = param.range;
      if (r.sim.min < lo || r.sim.max > hi) {
        ctx.addIssue({ code: 'custom', path: ['registers', i, 'sim'], message: `sim min..max ${r.sim.min}..${r.sim.max} leaves the catalogue range of ${r.param} (${lo}..${hi} ${param.unit})` });
      }
      if (r.type !== 'float32') {
        const [rlo, rhi] = rawRange(r.type);
        const raws = [r.sim.min, r.sim.max].map((v) => (v - r.offset) / r.scale);
        if (Math.min(...raws) < rlo || Math.max(...raws) > rhi) {
          ctx.addIssue({ code: 'custom', path: ['registers', i, 'sim'], message: `sim min..max does not fit a ${r.type} at scale ${r.scale}; widen the type or raise the scale` });
        }
      }
    }
  });

  p.status.forEach((s, i) => {
    const wire = wireOf(s.address, ['status', i, 'address']);
    if (wire !== undefined) spans.push({ fn: s.function, from: wire, to: wire, path: ['status', i, 'address'], what: `status[${i}]` });
    for (const [j, code] of (s.params ?? []).entries()) {
      if (!seen.has(code)) {
        ctx.addIssue({ code: 'custom', path: ['status', i, 'params', j], message: `${code} is not mapped in registers; list only parameters this profile reads` });
      }
    }
  });

  // Two entries reading the same register would decode one word two ways: always a mistake in the map.
  spans.sort((a, b) => a.fn - b.fn || a.from - b.from);
  for (let k = 1; k < spans.length; k++) {
    const a = spans[k - 1]!;
    const b = spans[k]!;
    if (a.fn === b.fn && b.from <= a.to) {
      ctx.addIssue({ code: 'custom', path: b.path, message: `overlaps ${a.what} (function ${a.fn}, wire registers ${a.from}..${a.to}); a 32-bit value takes two registers` });
    }
  }
}

export type FunctionCode = 3 | 4;
export type SimSpec = z.output<typeof SimSchema>;

/** One mapped value, with its wire address and effective word order worked out. */
export interface ProfileRegister {
  param: string;
  function: FunctionCode;
  /** As written in the profile (see `addressBase`). */
  address: number;
  /** The 0-based offset sent in the Modbus request. */
  wireAddress: number;
  type: (typeof REGISTER_TYPES)[number];
  wordOrder: (typeof WORD_ORDERS)[number];
  scale: number;
  offset: number;
  sentinels: number[];
  sim: SimSpec | undefined;
}

export interface StatusRegister {
  function: FunctionCode;
  address: number;
  wireAddress: number;
  faultBit: number | undefined;
  calibrationBit: number | undefined;
  /** The parameters this register reports on (all of the profile's when the file lists none). */
  params: string[];
}

export interface DeviceProfile {
  id: string;
  manufacturer: string;
  model: string;
  source: string;
  addressBase: 0 | 1;
  wordOrder: (typeof WORD_ORDERS)[number];
  maxRegistersPerRead: number;
  /** Unmapped registers a single read may span (0 = never bridge a gap). */
  maxReadGap: number;
  registers: ProfileRegister[];
  status: StatusRegister[];
  /** The file it was loaded from, for error messages. */
  file: string;
}

export function toDeviceProfile(p: ProfileFile, file: string): DeviceProfile {
  const all = p.registers.map((r) => r.param);
  return {
    id: p.id,
    manufacturer: p.manufacturer,
    model: p.model,
    source: p.source,
    addressBase: p.address_base,
    wordOrder: p.word_order,
    maxRegistersPerRead: p.max_registers_per_read,
    maxReadGap: p.max_read_gap,
    registers: p.registers.map((r) => ({
      param: r.param,
      function: r.function,
      address: r.address,
      wireAddress: r.address - p.address_base,
      type: r.type,
      wordOrder: r.word_order ?? p.word_order,
      scale: r.scale,
      offset: r.offset,
      sentinels: r.sentinels,
      sim: r.sim,
    })),
    status: p.status.map((s) => ({
      function: s.function,
      address: s.address,
      wireAddress: s.address - p.address_base,
      faultBit: s.fault_bit,
      calibrationBit: s.calibration_bit,
      params: s.params ?? all,
    })),
    file,
  };
}
