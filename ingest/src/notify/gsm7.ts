/**
 * SMS sizing: GSM 03.38 7-bit alphabet (160 characters in one segment, 153 per part when concatenated; the
 * extension characters ^ { } \ [ ~ ] | € take two) or UCS-2 (70, then 67 per part, in UTF-16 code units).
 * Vietnamese with diacritics is UCS-2; folded to plain Latin letters it is GSM-7 and fits ~2.3× more per SMS.
 */
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENDED = '^{}\\[~]|€\f';
const basic = new Set([...BASIC]);
const extended = new Set([...EXTENDED]);

export type SmsEncoding = 'gsm7' | 'ucs2';

export interface SmsSize {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  segments: number;
  /** Characters that forced UCS-2 (empty for GSM-7). */
  nonGsm: string[];
}

export function smsSize(text: string): SmsSize {
  let septets = 0;
  const nonGsm: string[] = [];
  for (const ch of text) {
    if (basic.has(ch)) septets += 1;
    else if (extended.has(ch)) septets += 2;
    else nonGsm.push(ch);
  }
  if (nonGsm.length === 0) {
    return { encoding: 'gsm7', units: septets, segments: septets === 0 ? 1 : septets <= 160 ? 1 : Math.ceil(septets / 153), nonGsm };
  }
  const units = text.length; // UTF-16 code units
  return { encoding: 'ucs2', units, segments: units <= 70 ? 1 : Math.ceil(units / 67), nonGsm: [...new Set(nonGsm)] };
}

/** Characters with no GSM-7 form that appear in our messages, and what to write instead. */
const FOLD: Record<string, string> = {
  đ: 'd', Đ: 'D', µ: 'u', '³': '3', '²': '2', '°': 'o', '–': '-', '—': '-', '…': '...', '×': 'x', '≥': '>=', '≤': '<=',
  '‘': "'", '’': "'", '“': '"', '”': '"', '·': '.', ' ': ' ',
};

/**
 * Folds Vietnamese (and the units we print) to GSM-7: strips tones and vowel marks (ằ → a, ư → u, ơ → o),
 * đ → d, µ → u, ³ → 3. The few accented letters GSM-7 has (é, è, à, ù, ì, ò) are folded too, so the text reads
 * consistently unaccented. Anything still outside GSM-7 becomes "?".
 */
export function foldToGsm7(text: string): string {
  let out = '';
  for (const ch of text) {
    const f = FOLD[ch];
    if (f !== undefined) {
      out += f;
      continue;
    }
    const base = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    if (base.length === 1 && /[A-Za-z]/.test(base)) out += base;
    else if (basic.has(ch) || extended.has(ch)) out += ch;
    else if (basic.has(base)) out += base;
    else out += '?';
  }
  return out;
}

/** Shortens text to at most `segments` SMS parts, ending with "..." when cut. */
export function fitSegments(text: string, segments: number): string {
  if (smsSize(text).segments <= segments) return text;
  const chars = [...text];
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (smsSize(chars.slice(0, mid).join('') + '...').segments <= segments) lo = mid;
    else hi = mid - 1;
  }
  return chars.slice(0, lo).join('') + '...';
}
