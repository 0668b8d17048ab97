/**
 * The station page's history: several parameters over 1 hour to 1 year, one chart per parameter (their units and
 * magnitudes differ) with a shared time axis and cursor. Averages are computed by the ingest (`/series` with
 * `every`), at about one bucket per pixel; raw readings are offered up to 31 days. Dragging across a chart zooms
 * all of them, and the zoomed range is fetched again at a finer step, so zooming into a year reaches minutes.
 *
 * The drawing is timed (`performance.measure('envmon:history-draw')`, from creating the charts to their first
 * draw) for `npm run bench`. The view can be opened in a given state from the URL:
 * `#station=<id>&range=30d&mode=raw&params=PM2_5,PM10`.
 */
import uPlot from 'uplot';
import type { Api, Parameter } from './api.ts';
import { h } from './dom.ts';
import { formatClock, formatTime, formatValue, tickDecimals, TIME_ZONE } from './format.ts';
import { chooseEvery, findRange, rawAllowed, RANGES, stepLabel, type Mode, type RangeId } from './history-window.ts';
import { t } from './i18n.ts';
import type { Store } from './store.ts';

const COLOURS = ['#0b5f8a', '#a8431a', '#2d6a2f', '#6b3fa0', '#8a6d00', '#b0204f', '#1f6f78', '#4f5964'];
const GRID = '#dfe4e8';
const AXIS = '#2b3137';
/** At most this many buckets per chart: about one per horizontal pixel of a wide screen. */
const MAX_BUCKETS = 1500;

interface Loaded {
  param: string;
  times: number[];
  values: (number | null)[];
}

/** Puts a null where data is missing so the line breaks there: a gap wider than `maxGapMs`. */
export function withGaps(times: readonly number[], values: readonly (number | null)[], maxGapMs: number): { x: number[]; y: (number | null)[] } {
  const x: number[] = [];
  const y: (number | null)[] = [];
  for (let i = 0; i < times.length; i++) {
    if (i > 0 && times[i]! - times[i - 1]! > maxGapMs) {
      x.push((times[i - 1]! + 1) / 1000);
      y.push(null);
    }
    x.push(times[i]! / 1000);
    y.push(values[i]!);
  }
  return { x, y };
}

/** Median spacing of raw readings (their sampling period), for the gap rule: a gap is over 3 periods. */
export function medianStep(times: readonly number[]): number {
  if (times.length < 2) return 60_000;
  const steps: number[] = [];
  const stride = Math.max(1, Math.floor(times.length / 500));
  for (let i = stride; i < times.length; i += stride) steps.push((times[i]! - times[i - stride]!) / stride);
  steps.sort((a, b) => a - b);
  return steps[Math.floor(steps.length / 2)]!;
}

export function mountHistory(root: HTMLElement, store: Store, api: Api): { reload(): void } {
  const heading = h('h2', { id: 'history-heading' });
  const paramsBox = h('fieldset', { class: 'param-picks', 'data-testid': 'history-params' });
  const rangeLabel = h('label', { for: 'history-range' });
  const rangeSelect = h('select', { id: 'history-range', 'data-testid': 'history-range' });
  const modeLabel = h('label', { for: 'history-mode' });
  const modeSelect = h('select', { id: 'history-mode', 'data-testid': 'history-mode' });
  const resetButton = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'history-reset' });
  const note = h('p', { class: 'muted small history-note', 'data-testid': 'history-note' });
  const plots = h('div', { class: 'history-plots', 'data-testid': 'history', 'data-state': 'idle' });
  root.replaceChildren(
    h(
      'div',
      { class: 'chart-head' },
      heading,
      h('div', { class: 'chart-controls' }, h('div', { class: 'field' }, rangeLabel, rangeSelect), h('div', { class: 'field' }, modeLabel, modeSelect), resetButton),
    ),
    paramsBox,
    note,
    plots,
  );

  let station: string | null = null;
  let picked: string[] = [];
  let range: RangeId = '24h';
  let mode: Mode = 'avg';
  let zoom: [number, number] | null = null;
  let generation = 0;
  let charts: uPlot[] = [];

  rangeSelect.addEventListener('change', () => {
    range = (findRange(rangeSelect.value)?.id ?? '24h') as RangeId;
    zoom = null;
    reload();
  });
  modeSelect.addEventListener('change', () => {
    mode = modeSelect.value === 'raw' ? 'raw' : 'avg';
    reload();
  });
  resetButton.addEventListener('click', () => {
    zoom = null;
    reload();
  });
  plots.addEventListener('dblclick', () => {
    if (zoom) {
      zoom = null;
      reload();
    }
  });
  paramsBox.addEventListener('change', () => {
    picked = [...paramsBox.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
    reload();
  });

  function fromUrl(): void {
    const q = new URLSearchParams(location.hash.slice(1));
    const r = findRange(q.get('range'));
    if (r) range = r.id;
    if (q.get('mode') === 'raw') mode = 'raw';
    const ps = q.get('params');
    if (ps) picked = ps.split(',').filter(Boolean);
  }

  function renderControls(): void {
    const { lang, params, stations } = store.state;
    heading.textContent = t(lang, 'history.heading');
    rangeLabel.textContent = t(lang, 'history.range');
    modeLabel.textContent = t(lang, 'history.mode');
    resetButton.textContent = t(lang, 'history.resetZoom');
    rangeSelect.replaceChildren(...RANGES.map((r) => h('option', { value: r.id }, t(lang, `history.range.${r.id}`))));
    rangeSelect.value = range;
    modeSelect.replaceChildren(h('option', { value: 'avg' }, t(lang, 'history.mode.avg')), h('option', { value: 'raw' }, t(lang, 'history.mode.raw')));
    modeSelect.value = mode;
    const s = stations.find((x) => x.id === station);
    paramsBox.replaceChildren(
      h('legend', {}, t(lang, 'history.params')),
      ...(s?.params ?? []).map((code) => {
        const p = params.get(code);
        return h(
          'label',
          { class: 'pick' },
          h('input', { type: 'checkbox', value: code, checked: picked.includes(code), 'data-param': code }),
          ` ${p ? p.name[lang] : code}`,
        );
      }),
    );
  }

  function span(): { from: number; to: number } {
    if (zoom) return { from: zoom[0], to: zoom[1] };
    const to = Date.now();
    return { from: to - (findRange(range)?.spanMs ?? 86_400_000), to };
  }

  function reload(): void {
    const gen = ++generation;
    const { lang } = store.state;
    if (!station || picked.length === 0) {
      destroy();
      plots.dataset.state = 'idle';
      note.textContent = picked.length === 0 && station ? t(lang, 'history.empty') : '';
      return;
    }
    const { from, to } = span();
    const raw = mode === 'raw' && rawAllowed(to - from);
    modeSelect.value = mode;
    resetButton.hidden = zoom === null;
    const width = Math.max(300, plots.clientWidth || 800);
    const every = raw ? 0 : chooseEvery(to - from, Math.min(MAX_BUCKETS, width));
    plots.dataset.state = 'loading';
    const st = station;
    Promise.all(picked.map((param) => api.series({ station: st, param, from, to, every, agg: 'mean' })))
      .then((all) => {
        if (gen !== generation) return;
        const loaded: Loaded[] = all.map((s) => ({ param: s.param, times: s.points.map((p) => p.time), values: s.points.map((p) => p.value) }));
        const points = loaded.reduce((n, l) => n + l.times.length, 0);
        note.textContent =
          mode === 'raw' && !raw
            ? t(lang, 'history.rawTooLong')
            : raw
              ? t(lang, 'history.note.raw', { n: points.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB') })
              : t(lang, 'history.note.avg', { step: stepLabel(every) });
        draw(loaded, from, to, every, gen);
      })
      .catch((err: unknown) => {
        if (gen !== generation) return;
        plots.dataset.state = 'error';
        store.setError(err instanceof Error ? err.message : String(err));
      });
  }

  function destroy(): void {
    for (const c of charts) c.destroy();
    charts = [];
    plots.replaceChildren();
  }

  function draw(loaded: Loaded[], from: number, to: number, every: number, gen: number): void {
    destroy();
    const { lang, params } = store.state;
    const width = Math.max(300, plots.clientWidth || 800);
    const height = Math.max(140, Math.min(260, Math.round(innerHeight / (loaded.length + 2))));
    const fontPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const font = `${Math.round(fontPx * 0.8)}px system-ui, sans-serif`;
    let pending = loaded.length;
    performance.clearMarks('envmon:history-draw-start');
    performance.mark('envmon:history-draw-start');
    const total = loaded.reduce((n, l) => n + l.times.length, 0);
    plots.dataset.points = String(total);

    loaded.forEach((l, i) => {
      const p: Parameter | undefined = params.get(l.param);
      const decimals = p?.decimals ?? 2;
      const unit = p?.unit ?? '';
      const maxGap = every > 0 ? every * 1.5 : medianStep(l.times) * 3;
      const { x, y } = withGaps(l.times, l.values, maxGap);
      const box = h('div', { class: 'history-plot', 'data-param': l.param, 'data-points': l.times.length });
      plots.append(box);
      let drawn = false;
      const opts: uPlot.Options = {
        width,
        height,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
        scales: { x: { time: true, range: () => [from / 1000, to / 1000] } },
        cursor: { sync: { key: 'envmon-history', setSeries: false }, drag: { x: true, y: false, setScale: false } },
        legend: { live: true },
        series: [
          { label: t(lang, 'latest.time'), value: (_u, v) => (v === null ? '—' : formatTime(v * 1000, Date.now(), lang)) },
          {
            label: p ? `${p.name[lang]} (${unit})` : l.param,
            stroke: COLOURS[i % COLOURS.length],
            width: 1.5,
            spanGaps: false,
            points: { show: false },
            value: (_u, v) => (v === null ? '—' : `${formatValue(v, decimals, lang)} ${unit}`),
          },
        ],
        axes: [
          { font, stroke: AXIS, grid: { stroke: GRID }, ticks: { stroke: GRID }, values: (_u, splits, _a, _s, incr) => splits.map((v) => axisTime(v * 1000, incr)) },
          {
            font,
            stroke: AXIS,
            grid: { stroke: GRID },
            ticks: { stroke: GRID },
            size: Math.round(fontPx * 4.5),
            values: (_u, splits, _a, _s, incr) => splits.map((v) => formatValue(v, tickDecimals(incr), lang)),
          },
        ],
        hooks: {
          draw: [
            () => {
              if (drawn || gen !== generation) return;
              drawn = true;
              if (--pending === 0) {
                performance.mark('envmon:history-draw-end');
                performance.measure('envmon:history-draw', 'envmon:history-draw-start', 'envmon:history-draw-end');
                plots.dataset.state = 'ready';
              }
            },
          ],
          setSelect: [
            (u) => {
              if (u.select.width < 5) return;
              const a = u.posToVal(u.select.left, 'x') * 1000;
              const b = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              zoom = [Math.round(a), Math.round(b)];
              reload();
            },
          ],
        },
      };
      charts.push(new uPlot(opts, [x, y], box));
    });
    if (loaded.length === 0) plots.dataset.state = 'ready';

    function axisTime(ms: number, incrS: number): string {
      if (incrS >= 86_400) return new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: TIME_ZONE, day: '2-digit', month: '2-digit' }).format(ms);
      return formatClock(ms, incrS < 60, lang);
    }
  }

  function onSelection(): void {
    const s = store.state.stations.find((x) => x.id === store.state.selected);
    if (!s) {
      station = null;
      destroy();
      return;
    }
    if (s.id !== station) {
      station = s.id;
      zoom = null;
      picked = s.params.slice(0, 4);
      fromUrl();
      picked = picked.filter((p) => s.params.includes(p));
    }
    renderControls();
    reload();
  }

  new ResizeObserver(() => {
    const w = Math.max(300, plots.clientWidth || 800);
    for (const c of charts) if (Math.abs(c.width - w) > 20) c.setSize({ width: w, height: c.height });
  }).observe(plots);

  store.subscribe((e) => {
    if (e.type === 'selection') onSelection();
    else if (e.type === 'lang' || e.type === 'catalogue') {
      renderControls();
      if (station) reload();
    }
  });
  return { reload };
}
