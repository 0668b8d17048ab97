import { describe, expect, it } from 'vitest';
import type { Limits, Reading } from './api.ts';
import { textOn } from './aqi-colour.ts';
import { coverageBand } from './completeness.ts';
import { exceedance, limitFor } from './exceedance.ts';
import { vnDay, vnDayStart } from './export-panel.ts';
import { chooseEvery, rawAllowed, stepLabel } from './history-window.ts';
import { medianStep, withGaps } from './history.ts';
import { fitView, graticuleStep, project, tilesFor, toView } from './map-projection.ts';
import { stationState } from './station-status.ts';

const r = (param: string, status: 0 | 1 | 2): Reading => ({ station: 'S', param, time: 0, value: 1, status, qc_flags: 0, period_s: 0 });

describe('station state', () => {
  it('offline beats everything; a fault beats calibrating; otherwise online', () => {
    const m = (...rs: Reading[]) => new Map(rs.map((x) => [x.param, x]));
    expect(stationState({ online: false }, m(r('A', 2)))).toBe('offline');
    expect(stationState({ online: true }, m(r('A', 1), r('B', 2)))).toBe('fault');
    expect(stationState({ online: true }, m(r('A', 0), r('B', 1)))).toBe('calibrating');
    expect(stationState({ online: true }, m(r('A', 0)))).toBe('online');
    expect(stationState({ online: true }, undefined)).toBe('online');
  });
});

describe('exceedance against limits', () => {
  const limits: Limits = {
    at: 0,
    by_medium: { air: 'qcvn-05-2023', water: 'qcvn-40-2011' },
    column: 'B',
    limits: [
      { profile: 'qcvn-05-2023', param: 'SO2', period: '24h', column: null, max: 125, min: null, unit: 'µg/Nm³', source: 's', unconfirmed: false },
      { profile: 'qcvn-05-2023', param: 'SO2', period: '1h', column: null, max: 350, min: null, unit: 'µg/Nm³', source: 's', unconfirmed: false },
      { profile: 'qcvn-05-2023', param: 'SO2', period: 'annual', column: null, max: 50, min: null, unit: 'µg/Nm³', source: 's', unconfirmed: false },
      { profile: 'qcvn-40-2011', param: 'PH', period: 'instant', column: 'A', max: 9, min: 6, unit: 'pH', source: 's', unconfirmed: false },
      { profile: 'qcvn-40-2011', param: 'PH', period: 'instant', column: 'B', max: 9, min: 5.5, unit: 'pH', source: 's', unconfirmed: false },
    ],
  };
  it('picks the shortest averaging period of the medium’s profile and the configured column', () => {
    expect(limitFor(limits, 'air', 'SO2')?.max).toBe(350);
    expect(limitFor(limits, 'water', 'PH')?.min).toBe(5.5);
    expect(limitFor(limits, 'stack', 'SO2')).toBeUndefined();
    expect(limitFor(null, 'air', 'SO2')).toBeUndefined();
  });
  it('ok below 80 %, near from 80 %, over above the maximum or below the minimum', () => {
    const so2 = limitFor(limits, 'air', 'SO2');
    expect(exceedance(100, so2)).toBe('ok');
    expect(exceedance(280, so2)).toBe('near');
    expect(exceedance(350, so2)).toBe('near');
    expect(exceedance(351, so2)).toBe('over');
    expect(exceedance(5.4, limitFor(limits, 'water', 'PH'))).toBe('over');
    expect(exceedance(null, so2)).toBe('none');
    expect(exceedance(5, undefined)).toBe('none');
  });
});

describe('AQI text colour', () => {
  it('picks the text colour with the higher contrast on each QĐ 1459 colour', () => {
    // Green, yellow, orange and (by WCAG luminance, 5.3:1 against 4.0:1) red take black; purple and maroon white.
    expect(['#00e400', '#ffff00', '#ff7e00', '#ff0000', '#8f3f97', '#7e0023'].map(textOn)).toEqual(['#000000', '#000000', '#000000', '#000000', '#ffffff', '#ffffff']);
  });
});

describe('history window', () => {
  it('asks for about one bucket per pixel, never finer than a minute', () => {
    expect(chooseEvery(3_600_000, 1500)).toBe(60_000);
    expect(chooseEvery(86_400_000, 1500)).toBe(60_000);
    expect(chooseEvery(7 * 86_400_000, 1500)).toBe(15 * 60_000);
    expect(chooseEvery(365 * 86_400_000, 1500)).toBe(6 * 3_600_000);
    expect(rawAllowed(30 * 86_400_000)).toBe(true);
    expect(rawAllowed(90 * 86_400_000)).toBe(false);
    expect([60_000, 3_600_000, 86_400_000].map(stepLabel)).toEqual(['1 min', '1 h', '1 d']);
  });
  it('breaks the line where data is missing', () => {
    expect(withGaps([0, 60_000, 300_000], [1, 2, 3], 90_000)).toEqual({ x: [0, 60, 60.001, 300], y: [1, 2, null, 3] });
    expect(medianStep([0, 10_000, 20_000, 30_000, 100_000])).toBe(10_000);
  });
});

describe('map projection', () => {
  it('projects with Web Mercator and fits all stations', () => {
    expect(project(0, 0, 0)).toEqual({ x: 128, y: 128 });
    const hanoi = { lat: 21.03, lon: 105.85 };
    const hcm = { lat: 10.77, lon: 106.7 };
    const v = fitView([hanoi, hcm], 600, 450);
    for (const p of [hanoi, hcm]) {
      const xy = toView(v, p.lat, p.lon);
      expect(xy.x).toBeGreaterThanOrEqual(24);
      expect(xy.y).toBeGreaterThanOrEqual(24);
      expect(xy.x).toBeLessThanOrEqual(576);
      expect(xy.y).toBeLessThanOrEqual(426);
    }
    expect(toView(v, hanoi.lat, hanoi.lon).y).toBeLessThan(toView(v, hcm.lat, hcm.lon).y); // north is up
  });
  it('lists the tiles covering the view', () => {
    const tiles = tilesFor({ zoom: 2, left: 100, top: 100, width: 300, height: 200 }, 'https://t/{z}/{x}/{y}.png');
    expect(tiles.map((t) => t.url)).toEqual(['https://t/2/0/0.png', 'https://t/2/1/0.png', 'https://t/2/0/1.png', 'https://t/2/1/1.png']);
    expect(tiles[0]).toMatchObject({ x: -100, y: -100 });
    expect(graticuleStep(6)).toBe(2); // 45.5 px per degree: lines at least 90 px apart
    expect(graticuleStep(10)).toBe(0.2);
  });
});

describe('completeness and export days', () => {
  it('bands coverage and converts Vietnamese days', () => {
    expect([null, 0.2, 0.6, 0.95].map(coverageBand)).toEqual(['none', 'poor', 'patchy', 'good']);
    expect(vnDayStart('2026-01-01')).toBe(Date.UTC(2025, 11, 31, 17));
    expect(vnDay(Date.UTC(2025, 11, 31, 17))).toBe('2026-01-01');
    expect(vnDay(Date.UTC(2025, 11, 31, 16, 59))).toBe('2025-12-31');
  });
});
