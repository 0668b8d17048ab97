/**
 * Web Mercator maths for the overview map, without a map library: where a station goes on the drawing, which
 * zoom fits every station, and which tiles cover the view when a tile server is configured. Without tiles the
 * same projection is drawn on a plain background, so the map needs no network at all. Pure, so unit-tested.
 */
export const TILE = 256;

/** World pixel coordinates at `zoom` (0 = the whole world in one 256-px tile). */
export function project(lat: number, lon: number, zoom: number): { x: number; y: number } {
  const size = TILE * 2 ** zoom;
  const clamped = Math.max(-85.0511, Math.min(85.0511, lat));
  const s = Math.sin((clamped * Math.PI) / 180);
  return { x: ((lon + 180) / 360) * size, y: (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * size };
}

export interface View {
  zoom: number;
  /** World pixel at the drawing's top-left corner. */
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The largest whole zoom (≤ maxZoom) at which all points fit in width × height with `pad` pixels of margin,
 * centred on their bounding box. One point (or none) gets `maxZoom` (or a view of Vietnam).
 */
export function fitView(points: readonly { lat: number; lon: number }[], width: number, height: number, pad = 24, maxZoom = 12): View {
  const pts = points.length > 0 ? points : [{ lat: 8.4, lon: 102.1 }, { lat: 23.4, lon: 109.5 }];
  let zoom = maxZoom;
  for (; zoom > 0; zoom--) {
    const xy = pts.map((p) => project(p.lat, p.lon, zoom));
    const w = Math.max(...xy.map((p) => p.x)) - Math.min(...xy.map((p) => p.x));
    const h = Math.max(...xy.map((p) => p.y)) - Math.min(...xy.map((p) => p.y));
    if (w <= width - 2 * pad && h <= height - 2 * pad) break;
  }
  const xy = pts.map((p) => project(p.lat, p.lon, zoom));
  const cx = (Math.max(...xy.map((p) => p.x)) + Math.min(...xy.map((p) => p.x))) / 2;
  const cy = (Math.max(...xy.map((p) => p.y)) + Math.min(...xy.map((p) => p.y))) / 2;
  return { zoom, left: cx - width / 2, top: cy - height / 2, width, height };
}

/** Position of a point in the drawing. */
export function toView(v: View, lat: number, lon: number): { x: number; y: number } {
  const p = project(lat, lon, v.zoom);
  return { x: p.x - v.left, y: p.y - v.top };
}

/** Tiles covering the view: URL from the `{z}/{x}/{y}` template and where to draw each. */
export function tilesFor(v: View, template: string): { url: string; x: number; y: number }[] {
  const n = 2 ** v.zoom;
  const out: { url: string; x: number; y: number }[] = [];
  for (let ty = Math.floor(v.top / TILE); ty * TILE < v.top + v.height; ty++) {
    if (ty < 0 || ty >= n) continue;
    for (let tx = Math.floor(v.left / TILE); tx * TILE < v.left + v.width; tx++) {
      const wrapped = ((tx % n) + n) % n;
      const url = template.replace('{z}', String(v.zoom)).replace('{x}', String(wrapped)).replace('{y}', String(ty));
      out.push({ url, x: tx * TILE - v.left, y: ty * TILE - v.top });
    }
  }
  return out;
}

/** Degrees between grid lines for the tile-less background: the finest round step that keeps lines ≥ `minPx` apart. */
export function graticuleStep(zoom: number, minPx = 90): number {
  const pxPerDegree = (TILE * 2 ** zoom) / 360;
  for (const step of [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]) if (step * pxPerDegree >= minPx) return step;
  return 30;
}
