/**
 * The live chart of one parameter of the selected station: history from `/series`, then readings from the stream
 * appended as they arrive, over a sliding window (15 min, 1 h raw; 24 h as 1-minute means).
 */
import uPlot from 'uplot';
import type { Api, Parameter } from './api.ts';
import { formatClock, formatTime, formatValue, tickDecimals, TIME_ZONE } from './format.ts';
import { t, type MessageKey } from './i18n.ts';
import { findWindow, LiveSeries, WINDOWS, type WindowId } from './live-series.ts';
import { h } from './dom.ts';
import type { Store } from './store.ts';

export interface ChartView {
  /** Slides the window forward; called every second. */
  tick(now: number): void;
  /** Fetches the history again (after the stream was down, readings sent meanwhile are only in the store). */
  reload(): void;
}

const LINE = '#0b5f8a'; // 7:1 on white: readable on a washed-out wall screen
const GRID = '#dfe4e8';
const AXIS = '#2b3137';

export function mountChart(root: HTMLElement, store: Store, api: Api): ChartView {
  const heading = h('h2', { id: 'chart-heading' });
  const paramLabel = h('label', { for: 'param-select' });
  const paramSelect = h('select', { id: 'param-select', 'data-testid': 'param-select' });
  const windowLabel = h('label', { for: 'window-select' });
  const windowSelect = h('select', { id: 'window-select', 'data-testid': 'window-select' });
  const plotBox = h('div', { class: 'chart-plot' });
  const note = h('p', { class: 'chart-note muted', hidden: true });
  const box = h('div', { class: 'chart', 'data-testid': 'chart', role: 'img' }, plotBox, note);
  root.replaceChildren(
    h(
      'div',
      { class: 'chart-head' },
      heading,
      h(
        'div',
        { class: 'chart-controls' },
        h('div', { class: 'field' }, paramLabel, paramSelect),
        h('div', { class: 'field' }, windowLabel, windowSelect),
      ),
    ),
    box,
  );

  let plot: uPlot | null = null;
  let series: LiveSeries | null = null;
  let loading = false;
  /** Bumped on every reload so a slow response for a previous selection is dropped, not drawn. */
  let generation = 0;
  let drawQueued = false;
  let optionsKey = '';

  const onChange = () => store.setChart(paramSelect.value || null, windowSelect.value as WindowId);
  paramSelect.addEventListener('change', onChange);
  windowSelect.addEventListener('change', onChange);

  // Width follows the box; height follows the viewport, which the box's own size does not reflect.
  new ResizeObserver(() => plot?.setSize(plotSize())).observe(plotBox);
  window.addEventListener('resize', () => plot?.setSize(plotSize()));

  function plotSize(): { width: number; height: number } {
    // uPlot needs pixels. The height is a share of the viewport that the stylesheet sets (--chart-vh), so the
    // layout decides it per screen size: a third of a laptop screen, most of a wall screen's column.
    const vh = parseFloat(getComputedStyle(plotBox).getPropertyValue('--chart-vh')) || 36;
    return { width: Math.max(200, plotBox.clientWidth), height: Math.round(Math.max(220, (innerHeight * vh) / 100)) };
  }

  function selectedParam(): Parameter | undefined {
    const code = store.state.chartParam;
    return code === null ? undefined : store.state.params.get(code);
  }

  function renderControls(): void {
    const { lang, stations, selected, chartParam, chartWindow, params } = store.state;
    heading.textContent = t(lang, 'chart.heading');
    paramLabel.textContent = t(lang, 'chart.param');
    windowLabel.textContent = t(lang, 'chart.window');
    const station = stations.find((s) => s.id === selected);
    const codes = station?.params ?? [];
    // Rebuild the options only when they change: replacing them under an open select (a station going online
    // re-renders) would close it in the user's hand.
    const key = `${lang}|${params.size}|${codes.join(',')}`;
    if (key !== optionsKey) {
      optionsKey = key;
      paramSelect.replaceChildren(
        ...codes.map((code) => {
          const p = params.get(code);
          return h('option', { value: code }, p ? `${p.name[lang]} (${p.unit})` : code);
        }),
      );
      windowSelect.replaceChildren(
        ...WINDOWS.map((w) => h('option', { value: w.id }, t(lang, `chart.window.${w.id}`))),
      );
    }
    paramSelect.value = chartParam ?? '';
    paramSelect.disabled = !station;
    windowSelect.value = chartWindow;
    const p = selectedParam();
    box.setAttribute(
      'aria-label',
      t(lang, 'chart.label', {
        param: p ? p.name[lang] : (chartParam ?? ''),
        station: station?.name ?? '',
        window: t(lang, `chart.window.${chartWindow}`),
      }),
    );
  }

  function reload(): void {
    const gen = ++generation;
    const { selected, chartParam, chartWindow } = store.state;
    const win = findWindow(chartWindow) ?? WINDOWS[0]!;
    plot?.destroy();
    plot = null;
    if (selected === null || chartParam === null) {
      series = null;
      showNote(null);
      return;
    }
    // Created before the request, so readings that arrive while it is in flight are kept and merged.
    series = new LiveSeries(win);
    loading = true;
    draw();
    const now = Date.now();
    api
      .series({ station: selected, param: chartParam, from: series.from(now), to: now, every: win.everyMs, agg: 'mean' })
      .then((s) => {
        if (gen !== generation || !series) return;
        series.load(s.points);
        series.trim(Date.now());
      })
      .catch((err: unknown) => {
        if (gen !== generation) return;
        store.setError(err instanceof Error ? err.message : String(err));
      })
      .finally(() => {
        if (gen !== generation) return;
        loading = false;
        draw();
      });
  }

  function showNote(key: MessageKey | null): void {
    note.hidden = key === null;
    note.textContent = key === null ? '' : t(store.state.lang, key);
  }

  function draw(): void {
    if (!series) return;
    const data: uPlot.AlignedData = series.aligned();
    if (plot) plot.setData(data);
    else plot = new uPlot(options(series), data, plotBox);
    showNote(loading ? 'chart.loading' : series.length === 0 ? 'chart.empty' : null);
  }

  /** Coalesces a burst of readings (a gateway flushing its outbox) into one redraw per frame. */
  function queueDraw(): void {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      draw();
    });
  }

  function options(s: LiveSeries): uPlot.Options {
    const lang = store.state.lang;
    const p = selectedParam();
    const decimals = p?.decimals ?? 2;
    const unit = p?.unit ?? '';
    const fontPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const font = `${Math.round(fontPx * 0.85)}px system-ui, sans-serif`;
    return {
      ...plotSize(),
      // Ticks fall on Vietnam-time hours and midnights, matching the clock labels below.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
      scales: {
        // The x range is the window itself, not the data's extent, so the line visibly moves left as time passes
        // and a silent station shows as an empty stretch at the right.
        x: { time: true, range: () => [s.from(Date.now()) / 1000, Date.now() / 1000] },
      },
      cursor: { drag: { x: false, y: false, setScale: false } }, // no zoom: it would fight the sliding window
      legend: { live: true },
      series: [
        { label: t(lang, 'latest.time'), value: (_u, v) => (v === null ? '—' : formatTime(v * 1000, Date.now(), lang)) },
        {
          label: p ? `${p.name[lang]} (${unit})` : (store.state.chartParam ?? ''),
          stroke: LINE,
          width: 2,
          fill: 'rgba(11, 95, 138, 0.08)',
          spanGaps: false, // a null value is a device with nothing to report: show the hole
          value: (_u, v) => (v === null ? '—' : `${formatValue(v, decimals, lang)} ${unit}`),
        },
      ],
      axes: [
        {
          font,
          stroke: AXIS,
          grid: { stroke: GRID },
          ticks: { stroke: GRID },
          values: (_u, splits, _i, _space, incr) => splits.map((v) => formatClock(v * 1000, incr < 60, lang)),
        },
        {
          font,
          stroke: AXIS,
          grid: { stroke: GRID },
          ticks: { stroke: GRID },
          size: (u, values) => {
            // Wide enough for the longest label ("12.345,6"), measured with the axis font.
            u.ctx.font = font;
            const widest = Math.max(0, ...(values ?? []).map((v) => u.ctx.measureText(v).width));
            return Math.ceil(widest / devicePixelRatio) + Math.round(fontPx * 1.5);
          },
          values: (_u, splits, _i, _space, incr) =>
            splits.map((v) => formatValue(v, tickDecimals(incr), lang)),
        },
      ],
    };
  }

  store.subscribe((e) => {
    switch (e.type) {
      case 'selection':
      case 'catalogue':
      case 'stations':
        renderControls();
        break;
      case 'chart':
        renderControls();
        reload();
        break;
      case 'lang':
        renderControls();
        plot?.destroy(); // labels and formatters are baked into the options
        plot = null;
        draw();
        break;
      case 'readings': {
        const { selected, chartParam } = store.state;
        if (!series || e.station !== selected) break;
        let added = false;
        for (const r of e.readings) {
          // Raw readings only: /series answers raw (period_s=0) data, and gateway means would interleave with it.
          if (r.param === chartParam && r.period_s === 0) {
            series.add(r.time, r.value);
            added = true;
          }
        }
        if (added) queueDraw();
        break;
      }
    }
  });
  renderControls();

  return {
    tick(now) {
      if (!series || !plot) return;
      series.trim(now);
      draw();
    },
    reload,
  };
}
