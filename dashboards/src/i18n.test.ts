import { describe, expect, it } from 'vitest';
import { LANGS, loadLang, messages, otherLang, saveLang, t } from './i18n.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n table', () => {
  it('has every key in both languages, none empty, with the same placeholders', () => {
    const keys = new Set(LANGS.flatMap((l) => Object.keys(messages[l])));
    for (const key of keys) {
      for (const lang of LANGS) {
        const text = (messages[lang] as Record<string, string | undefined>)[key];
        expect(text, `${lang} ${key}`).toBeTypeOf('string');
        expect(text?.trim(), `${lang} ${key}`).not.toBe('');
      }
      const [vi, en] = [messages.vi, messages.en].map((m) => placeholders((m as Record<string, string>)[key] ?? ''));
      expect(en, `placeholders of ${key}`).toEqual(vi);
    }
  });

  it('really translates: Vietnamese and English differ for prose keys', () => {
    // Names that are the same in both languages (product name, pH-style codes) are allowed to match.
    const same = Object.keys(messages.vi).filter(
      (k) => messages.vi[k as keyof typeof messages.vi] === messages.en[k as keyof typeof messages.en],
    );
    expect(same).toEqual(['app.product']);
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(t('vi', 'stations.count', { online: 2, total: 4 })).toBe('2/4 trạm trực tuyến');
    expect(t('en', 'stations.count', { online: 2 })).toBe('2/{total} stations online');
  });

  it('names the status codes as TT10 operators know them', () => {
    expect([t('vi', 'status.0'), t('vi', 'status.1'), t('vi', 'status.2')]).toEqual([
      'Đang đo',
      'Hiệu chuẩn',
      'Lỗi thiết bị',
    ]);
  });
});

describe('language choice', () => {
  it('defaults to Vietnamese and persists a switch', () => {
    const mem = new Map<string, string>();
    const storage = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v) };
    expect(loadLang(storage)).toBe('vi');
    saveLang(storage, otherLang('vi'));
    expect(loadLang(storage)).toBe('en');
    mem.set('envmon.lang', 'fr');
    expect(loadLang(storage)).toBe('vi');
  });

  it('works without storage or when storage throws', () => {
    expect(loadLang(undefined)).toBe('vi');
    const broken = {
      getItem: (): string | null => {
        throw new Error('SecurityError');
      },
      setItem: (): void => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(loadLang(broken)).toBe('vi');
    expect(() => saveLang(broken, 'en')).not.toThrow();
  });
});
