import type { SimSpec } from '../profile/schema.ts';

/**
 * The simulator's signal model: value(t) = base + diurnal cycle + noise + pollution episode, clamped to
 * [min, max]. It is a pure function of (seed, parameter, time), so two simulators with the same seed agree,
 * a test can ask for the value at any simulated instant, and no state has to be kept between requests.
 */

/** Station local time for `peak_hour`: Vietnam (ICT) is UTC+7 all year, with no daylight saving. */
export const LOCAL_UTC_OFFSET_H = 7;

const HOUR_MS = 3_600_000;
/** Noise changes once a second, so two reads within the same second agree (as a real analyser's output would). */
const NOISE_STEP_MS = 1_000;

export function simulatedValue(spec: SimSpec, seed: number, param: string, timeMs: number): number {
  const stream = hashString(param) ^ seed;
  const localHour = (((timeMs / HOUR_MS + LOCAL_UTC_OFFSET_H) % 24) + 24) % 24;
  const diurnal = spec.diurnal_amplitude * Math.cos((2 * Math.PI * (localHour - spec.peak_hour)) / 24);
  const step = Math.floor(timeMs / NOISE_STEP_MS);
  const noise = spec.noise * gaussian(uniform(stream, 1, step), uniform(stream, 2, step));
  const episode = spec.episode ? episodeLevel(spec.episode, stream, timeMs) * (spec.episode.peak - spec.base) : 0;
  return clamp(spec.base + diurnal + noise + episode, spec.min, spec.max);
}

/**
 * 0..1: how far into an episode `timeMs` is (a half-sine rise and fall). Each simulated hour draws whether an
 * episode starts in it and when; we look back over as many hours as an episode can last.
 */
export function episodeLevel(ep: NonNullable<SimSpec['episode']>, stream: number, timeMs: number): number {
  const durationMs = ep.duration_min * 60_000;
  const hour = Math.floor(timeMs / HOUR_MS);
  let level = 0;
  for (let h = hour - Math.ceil(durationMs / HOUR_MS); h <= hour; h++) {
    if (uniform(stream, 3, h) >= ep.probability_per_hour) continue;
    const start = h * HOUR_MS + uniform(stream, 4, h) * HOUR_MS;
    const progress = (timeMs - start) / durationMs;
    if (progress >= 0 && progress <= 1) level = Math.max(level, Math.sin(Math.PI * progress));
  }
  return level;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** A standard normal deviate from two uniforms (Box–Muller), bounded because u1 is never 0. */
function gaussian(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}

/** A uniform number in [0, 1) from (stream, purpose, index): a 32-bit integer hash, no state. */
export function uniform(stream: number, purpose: number, index: number): number {
  let h = Math.imul(stream ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(purpose + 0x632be5ab, 0xc2b2ae35);
  // Mix both halves of the index: hour and second indexes exceed 32 bits' worth of milliseconds but not of units.
  h = mix(h ^ (index | 0));
  h = mix(h ^ Math.floor(index / 0x100000000));
  return (h >>> 0) / 0x100000000;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}
