import type { Lang } from '../alarms/describe.ts';

export type MessageKind = 'raised' | 'escalated' | 'cleared' | 'acknowledged';

/**
 * The digest a recipient gets once their rate limit has room again, for the messages it held back.
 * Placeholders: {count} (messages held back), {list} (alarm numbers and stations), {since} (first one's time).
 */
export const DIGEST_TEMPLATES: Record<Lang, string> = {
  vi: '[envmon] {count} tin cảnh báo từ {since} chưa gửi cho bạn vì vượt giới hạn tin nhắn: {list}. Xem chi tiết trên bảng điều khiển.',
  en: '[envmon] {count} alarm messages since {since} were held back by your SMS limit: {list}. See the dashboard for details.',
};

/** Default texts. Placeholders: {id} {station} {station_name} {what} {time} {severity} {rule} {stage} {waited} {by}. */
export const DEFAULT_TEMPLATES: Record<Lang, Record<MessageKind, string>> = {
  vi: {
    raised: '[envmon] {severity} #{id} {station_name}: {what} lúc {time}. Trả lời OK {id} để xác nhận.',
    escalated: '[envmon] CHƯA AI XÁC NHẬN sau {waited}: {severity} #{id} {station_name}: {what} lúc {time}. Trả lời OK {id} để xác nhận.',
    cleared: '[envmon] HẾT CẢNH BÁO #{id} {station_name}: {what}.',
    acknowledged: '[envmon] ĐÃ XÁC NHẬN #{id} {station_name} ({by}): {what}.',
  },
  en: {
    raised: '[envmon] {severity} #{id} {station_name}: {what} at {time}. Reply OK {id} to acknowledge.',
    escalated: '[envmon] NOT ACKNOWLEDGED after {waited}: {severity} #{id} {station_name}: {what} at {time}. Reply OK {id} to acknowledge.',
    cleared: '[envmon] CLEARED #{id} {station_name}: {what}.',
    acknowledged: '[envmon] ACKNOWLEDGED #{id} {station_name} by {by}: {what}.',
  },
};

export const SEVERITY_LABEL: Record<Lang, Record<string, string>> = {
  vi: { critical: 'KHẨN CẤP', major: 'CẢNH BÁO', minor: 'CẢNH BÁO NHẸ', warning: 'LƯU Ý' },
  en: { critical: 'CRITICAL', major: 'ALARM', minor: 'MINOR ALARM', warning: 'WARNING' },
};

/** Replaces {name} with vars[name]; unknown placeholders stay as written so a typo is visible, not silent. */
export function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{([a-z_]+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}
