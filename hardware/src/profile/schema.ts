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

const bitOfWord = z.number().int().min(0).max(15, 'a bit of a 16-bit register: 0..15');

const StatusSchema = z
  .strictObject({
    function: z.union([z.literal(3), z.literal(4)], { error: 'function must be 3 (holding) or 4 (input)' }),
    address: z.number().int().min(0),
    fault_bit: bitOfWord.optional(),
    calibration_bit: bitOfWord.optional(),
    humidity_bit: bitOfWord.optional(),
    params: z.array(z.string()).optional(),
  })
  .refine((s) => s.fault_bit !== undefined || s.calibration_bit !== undefined || s.humidity_bit !== undefined, {
    message: 'a status register needs fault_bit, calibration_bit or humidity_bit',
  })
  .superRefine((s, ctx) => {
    const used = new Map<number, string>();
    for (const k of ['fault_bit', 'calibration_bit', 'humidity_bit'] as const) {
      const b = s[k];
      if (b === undefined) continue;
      const other = used.get(b);
      if (other) ctx.addIssue({ code: 'custom', path: [k], message: `${other} and ${k} must be different bits` });
      else used.set(b, k);
    }
  });

/** What a single-bit input (coil or discrete input) means. */
export const BIT_ROLES = ['fault', 'calibration', 'humidity', 'reading'] as const;
export type BitRole = (typeof BIT_ROLES)[number];

const BitSchema = z
  .strictObject({
    name: z.string().min(1, 'the name the manual gives this bit, e.g. "SAMPLE FLOW WARNING"'),
    function: z.union([z.literal(1), z.literal(2)], {
      error: 'function must be 1 (read coils, "0xxxx") or 2 (read discrete inputs, "1xxxx")',
    }),
    address: z.number().int('a whole bit address').min(0),
    role: z.enum(BIT_ROLES, { error: 'role must be fault (status 02), calibration (status 01), humidity (QC flag humidity) or reading (a 0/1 value of `param`)' }),
    active: z.enum(['high', 'low'], { error: 'active must be high (1 = active, the default) or low (0 = active, e.g. a "system OK" bit)' }).default('high'),
    params: z.array(z.string()).optional(),
    param: z.string().optional(),
  })
  .superRefine((b, ctx) => {
    if (b.role === 'reading') {
      if (b.param === undefined) ctx.addIssue({ code: 'custom', path: ['param'], message: 'a reading bit needs `param`: the catalogue code its 0/1 value is reported as' });
      if (b.params !== undefined) ctx.addIssue({ code: 'custom', path: ['params'], message: 'a reading bit has `param` (one code), not `params`' });
    } else if (b.param !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['param'], message: `a ${b.role} bit marks parameters: use \`params: [${b.param}]\` (or omit it for all of the profile's)` });
    }
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
    // Single-bit inputs: coils (function 1) and discrete inputs (function 2). Modbus caps a bit read at 2000 bits.
    max_bits_per_read: z.number().int().min(1).max(2000, 'Modbus allows at most 2000 bits per read').default(2000),
    max_bit_gap: z.number().int().min(0).max(1998, 'a gap of at most 1998 bits still fits a 2000-bit read').default(0),
    bits: z.array(BitSchema).default([]),
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

  // Reading bits add parameters of their own (0/1 values); they count as mapped parameters everywhere.
  p.bits.forEach((b, i) => {
    if (b.role !== 'reading' || b.param === undefined) return;
    const param = cat.get(b.param);
    if (!param) {
      ctx.addIssue({ code: 'custom', path: ['bits', i, 'param'], message: `unknown parameter "${b.param}"; use a code from protocol/parameters.yaml (${cat.codes().join(', ')})` });
    } else if (param.range[0] > 0 || param.range[1] < 1) {
      ctx.addIssue({ code: 'custom', path: ['bits', i, 'param'], message: `${b.param} cannot hold a 0/1 value: its catalogue range is ${param.range[0]}..${param.range[1]} ${param.unit}` });
    }
    const first = seen.get(b.param);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['bits', i, 'param'], message: `${b.param} is already mapped by registers[${first}]; a profile maps each parameter once` });
    } else seen.set(b.param, -1 - i);
  });

  const bitSpans: { fn: number; at: number; path: (string | number)[]; what: string }[] = [];
  const names = new Map<string, number>();
  p.bits.forEach((b, i) => {
    const wire = wireOf(b.address, ['bits', i, 'address']);
    if (wire !== undefined) bitSpans.push({ fn: b.function, at: wire, path: ['bits', i, 'address'], what: `bits[${i}] (${b.name})` });
    const dup = names.get(b.name);
    if (dup !== undefined) ctx.addIssue({ code: 'custom', path: ['bits', i, 'name'], message: `bits[${dup}] already has the name "${b.name}"; names identify bits in tests and logs` });
    else names.set(b.name, i);
    for (const [j, code] of (b.params ?? []).entries()) {
      if (!seen.has(code)) {
        ctx.addIssue({ code: 'custom', path: ['bits', i, 'params', j], message: `${code} is not mapped in registers; list only parameters this profile reads` });
      }
    }
  });
  bitSpans.sort((a, b) => a.fn - b.fn || a.at - b.at);
  for (let k = 1; k < bitSpans.length; k++) {
    const a = bitSpans[k - 1]!;
    const b = bitSpans[k]!;
    if (a.fn === b.fn && a.at === b.at) {
      ctx.addIssue({ code: 'custom', path: b.path, message: `same bit as ${a.what} (function ${a.fn}, wire bit ${a.at}); one bit, one meaning` });
    }
  }

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
  // Several status entries may share one status word (different bits for different parameters).
  const uniq = spans.filter((x, k) => !(x.what.startsWith('status[') && spans.some((y, j) => j < k && y.what.startsWith('status[') && y.fn === x.fn && y.from === x.from)));
  uniq.sort((a, b) => a.fn - b.fn || a.from - b.from);
  for (let k = 1; k < uniq.length; k++) {
    const a = uniq[k - 1]!;
    const b = uniq[k]!;
    if (a.fn === b.fn && b.from <= a.to) {
      ctx.addIssue({ code: 'custom', path: b.path, message: `overlaps ${a.what} (function ${a.fn}, wire registers ${a.from}..${a.to}); a 32-bit value takes two registers` });
    }
  }
}

export type FunctionCode = 3 | 4;
/** Single-bit reads: 1 read coils, 2 read discrete inputs. */
export type BitFunction = 1 | 2;
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
  /** Bit set while particulate readings are taken at high humidity → QcFlag.HUMIDITY on the params. */
  humidityBit: number | undefined;
  /** The parameters this register reports on (all of the profile's when the file lists none). */
  params: string[];
}

/** One coil or discrete input. */
export interface ProfileBit {
  name: string;
  function: BitFunction;
  /** As written in the profile (see `addressBase`). */
  address: number;
  /** The 0-based bit offset sent in the Modbus request. */
  wireAddress: number;
  role: BitRole;
  /** true: the bit means what `role` says when it is 0 (e.g. "system OK"). */
  activeLow: boolean;
  /** fault / calibration / humidity: the parameters it marks (all of the profile's when the file lists none). */
  params: string[];
  /** reading: the parameter its 0/1 value is reported as. */
  param: string | undefined;
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
  /** The most bits one coil/discrete-input read may ask for (≤ 2000). */
  maxBitsPerRead: number;
  /** Unmapped bits a single bit read may span (0 = never bridge a gap). */
  maxBitGap: number;
  bits: ProfileBit[];
  /** The file it was loaded from, for error messages. */
  file: string;
}

/** Every parameter a profile reports, in order: its registers, then its reading bits. */
export function profileParams(profile: Pick<DeviceProfile, 'registers' | 'bits'>): string[] {
  return [...profile.registers.map((r) => r.param), ...profile.bits.flatMap((b) => (b.role === 'reading' && b.param ? [b.param] : []))];
}

export function toDeviceProfile(p: ProfileFile, file: string): DeviceProfile {
  const all = [...p.registers.map((r) => r.param), ...p.bits.flatMap((b) => (b.role === 'reading' && b.param ? [b.param] : []))];
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
      humidityBit: s.humidity_bit,
      params: s.params ?? all,
    })),
    maxBitsPerRead: p.max_bits_per_read,
    maxBitGap: p.max_bit_gap,
    bits: p.bits.map((b) => ({
      name: b.name,
      function: b.function,
      address: b.address,
      wireAddress: b.address - p.address_base,
      role: b.role,
      activeLow: b.active === 'low',
      params: b.role === 'reading' ? [] : (b.params ?? all),
      param: b.role === 'reading' ? b.param : undefined,
    })),
    file,
  };
}
