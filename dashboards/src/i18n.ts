/**
 * Every user-visible string of the dashboard, in Vietnamese (the default: the users are Sở TN&MT staff) and
 * English. Parameter names are not here: they come from the catalogue through the API (`name.vi` / `name.en`).
 *
 * `en` is typed against the keys of `vi`, so a key missing in either language is a compile error; the unit test
 * also checks that both texts of a key use the same `{placeholders}`.
 */
import type { DeviceStatus, Lang, Medium } from './api.ts';

const vi = {
  'app.title': 'envmon — Quan trắc môi trường tự động',
  'app.product': 'envmon',
  'app.subtitle': 'Quan trắc môi trường tự động',
  'lang.switch': 'English',
  'lang.switchLabel': 'Switch to English',
  'live.connecting': 'Đang kết nối…',
  'live.live': 'Trực tiếp',
  'live.reconnecting': 'Đang kết nối lại…',
  'live.label': 'Trạng thái luồng dữ liệu trực tiếp',
  'stations.heading': 'Trạm quan trắc',
  'stations.count': '{online}/{total} trạm trực tuyến',
  'stations.empty': 'Chưa có trạm nào.',
  'station.online': 'Trực tuyến',
  'station.offline': 'Mất kết nối',
  'station.noData': 'chưa có dữ liệu',
  'station.lastData': 'Dữ liệu mới nhất:',
  'station.none': 'Chọn một trạm để xem số liệu.',
  'latest.heading': 'Số liệu mới nhất',
  'latest.param': 'Thông số',
  'latest.value': 'Giá trị',
  'latest.status': 'Trạng thái',
  'latest.time': 'Thời gian',
  'latest.empty': 'Trạm chưa gửi số liệu.',
  'status.0': 'Đang đo',
  'status.1': 'Hiệu chuẩn',
  'status.2': 'Lỗi thiết bị',
  'qc.range': 'Ngoài khoảng hợp lý',
  'qc.spike': 'Tăng/giảm đột ngột',
  'qc.flatline': 'Giá trị không đổi',
  'qc.stale': 'Đến muộn',
  'qc.replayed': 'Gửi lại',
  'qc.label': 'Cờ kiểm tra chất lượng',
  'chart.heading': 'Biểu đồ',
  'chart.param': 'Thông số',
  'chart.window': 'Khoảng thời gian',
  'chart.window.15m': '15 phút',
  'chart.window.1h': '1 giờ',
  'chart.window.24h': '24 giờ (trung bình 1 phút)',
  'chart.empty': 'Không có số liệu trong khoảng thời gian này.',
  'chart.loading': 'Đang tải…',
  'chart.label': 'Biểu đồ {param} của trạm {station}, {window}',
  'age.s': '{n} s trước',
  'age.min': '{n} phút trước',
  'age.h': '{n} giờ trước',
  'age.d': '{n} ngày trước',
  'error.load': 'Không tải được dữ liệu: {message}',
  'medium.air': 'Không khí',
  'medium.water': 'Nước',
  'medium.stack': 'Khí thải',
  'medium.weather': 'Khí tượng',
} as const;

export type MessageKey = keyof typeof vi;

const en: Record<MessageKey, string> = {
  'app.title': 'envmon — Automatic environmental monitoring',
  'app.product': 'envmon',
  'app.subtitle': 'Automatic environmental monitoring',
  'lang.switch': 'Tiếng Việt',
  'lang.switchLabel': 'Chuyển sang tiếng Việt',
  'live.connecting': 'Connecting…',
  'live.live': 'Live',
  'live.reconnecting': 'Reconnecting…',
  'live.label': 'Live data stream status',
  'stations.heading': 'Stations',
  'stations.count': '{online}/{total} stations online',
  'stations.empty': 'No stations yet.',
  'station.online': 'Online',
  'station.offline': 'Offline',
  'station.noData': 'no data yet',
  'station.lastData': 'Latest data:',
  'station.none': 'Select a station to see its data.',
  'latest.heading': 'Latest values',
  'latest.param': 'Parameter',
  'latest.value': 'Value',
  'latest.status': 'Status',
  'latest.time': 'Time',
  'latest.empty': 'The station has not sent any data.',
  'status.0': 'Measuring',
  'status.1': 'Calibrating',
  'status.2': 'Device error',
  'qc.range': 'Outside plausible range',
  'qc.spike': 'Spike',
  'qc.flatline': 'Flatline',
  'qc.stale': 'Arrived late',
  'qc.replayed': 'Replayed',
  'qc.label': 'Quality-control flags',
  'chart.heading': 'Chart',
  'chart.param': 'Parameter',
  'chart.window': 'Time window',
  'chart.window.15m': '15 min',
  'chart.window.1h': '1 hour',
  'chart.window.24h': '24 hours (1-min mean)',
  'chart.empty': 'No data in this time window.',
  'chart.loading': 'Loading…',
  'chart.label': 'Chart of {param} at station {station}, {window}',
  'age.s': '{n} s ago',
  'age.min': '{n} min ago',
  'age.h': '{n} h ago',
  'age.d': '{n} d ago',
  'error.load': 'Could not load data: {message}',
  'medium.air': 'Air',
  'medium.water': 'Water',
  'medium.stack': 'Stack',
  'medium.weather': 'Weather',
};

export const messages: Record<Lang, Record<MessageKey, string>> = { vi, en };
export const LANGS: readonly Lang[] = ['vi', 'en'];
export const DEFAULT_LANG: Lang = 'vi';
const STORAGE_KEY = 'envmon.lang';

/** Looks a key up and fills `{name}` placeholders; an unfilled placeholder stays visible rather than vanishing. */
export function t(lang: Lang, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return messages[lang][key].replace(/\{(\w+)\}/g, (m, name: string) =>
    name in vars ? String(vars[name]) : m,
  );
}

export function statusKey(status: DeviceStatus): MessageKey {
  return `status.${status}`;
}

export function mediumKey(medium: Medium): MessageKey {
  return `medium.${medium}`;
}

/** The other language, for the single toggle button in the header. */
export function otherLang(lang: Lang): Lang {
  return lang === 'vi' ? 'en' : 'vi';
}

/** Reads the persisted choice; anything unknown (or no storage, e.g. a locked-down kiosk) means Vietnamese. */
export function loadLang(storage: Pick<Storage, 'getItem'> | undefined): Lang {
  try {
    const v = storage?.getItem(STORAGE_KEY);
    return v === 'en' || v === 'vi' ? v : DEFAULT_LANG;
  } catch {
    return DEFAULT_LANG;
  }
}

export function saveLang(storage: Pick<Storage, 'setItem'> | undefined, lang: Lang): void {
  try {
    storage?.setItem(STORAGE_KEY, lang);
  } catch {
    /* storage may be disabled or full; the choice then lasts for this page only */
  }
}
