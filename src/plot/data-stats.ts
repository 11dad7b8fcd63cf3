/**
 * The `yolor data stats` figure: instances per class (bar chart; classes under
 * the imbalance threshold drawn hatched-grey with their count in red), box
 * width × height (2-D histogram of sizes relative to the image, log-scaled
 * shading), boxes per image (histogram) and box size (sqrt of relative area).
 */
import type { DatasetStats } from '../data/stats.js';
import { type Ctx, drawAxes, fitText, font, newCanvas, paletteColor, type Rect, savePng } from './canvas.js';

/** About `n` round tick values from 0 to at least `max`. */
export function niceTicks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = 0; t < max + step * 1e-9; t += step) ticks.push(Math.round(t / step) * step);
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks.length * step);
  return ticks.map((t) => Number(t.toPrecision(6)));
}

function noData(ctx: Ctx, rect: Rect, title: string): void {
  drawAxes(ctx, rect, { title, xTicks: [], yTicks: [], grid: false });
  ctx.font = font(16);
  ctx.fillStyle = '#888888';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText('no boxes', rect.x + rect.w / 2, rect.y + rect.h / 2);
}

function classBars(ctx: Ctx, rect: Rect, s: DatasetStats): void {
  const names = Object.keys(s.instances);
  const counts = names.map((n) => s.instances[n]!);
  const flagged = new Set(s.imbalance.map((w) => w.class));
  const max = Math.max(1, ...counts);
  const yTicks = niceTicks(max);
  const n = Math.max(1, names.length);
  const ax = drawAxes(ctx, rect, {
    title: `instances per class (${s.totalInstances} in ${names.length} classes)`,
    yLabel: 'instances',
    xRange: [0, n],
    yRange: [0, yTicks[yTicks.length - 1]!],
    xTicks: [],
    yTicks,
  });
  const slot = rect.w / n;
  const barW = Math.max(1, slot * 0.7);
  const rotate = names.length > 6;
  names.forEach((name, i) => {
    const x = ax.px(i) + (slot - barW) / 2;
    const y = ax.py(counts[i]!);
    ctx.fillStyle = flagged.has(name) ? '#b0b0b0' : paletteColor(i);
    ctx.fillRect(x, y, barW, rect.y + rect.h - y);
    if (names.length <= 40) {
      ctx.font = font(13);
      ctx.fillStyle = flagged.has(name) ? '#d00000' : '#000000';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'bottom';
      ctx.fillText(String(counts[i]), x + barW / 2, y - 2);
      ctx.fillStyle = '#000000';
      const label = fitText(ctx, name, rotate ? 160 : slot - 4);
      if (rotate) {
        ctx.save();
        ctx.translate(x + barW / 2, rect.y + rect.h + 8);
        ctx.rotate(-Math.PI / 4);
        ctx.textAlign = 'right';
        ctx.textBaseline = 'middle';
        ctx.fillText(label, 0, 0);
        ctx.restore();
      } else {
        ctx.font = font(14);
        ctx.textAlign = 'center';
        ctx.textBaseline = 'top';
        ctx.fillText(label, x + barW / 2, rect.y + rect.h + 8);
      }
    }
  });
  if (flagged.size > 0) {
    ctx.font = font(13);
    ctx.fillStyle = '#d00000';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText(`grey: < 10% of the largest class (${flagged.size})`, rect.x + rect.w - 6, rect.y + 6);
  }
}

function whHistogram(ctx: Ctx, rect: Rect, s: DatasetStats): void {
  const { bins, counts } = s.boxWh;
  const max = Math.max(0, ...counts);
  if (max === 0) {
    noData(ctx, rect, 'box width × height (relative to the image)');
    return;
  }
  const ax = drawAxes(ctx, rect, {
    title: 'box width × height (relative to the image)',
    xLabel: 'width / image width',
    yLabel: 'height / image height',
    grid: false,
  });
  const cw = rect.w / bins;
  const ch = rect.h / bins;
  const lmax = Math.log1p(max);
  for (let r = 0; r < bins; r++) {
    for (let c = 0; c < bins; c++) {
      const v = counts[r * bins + c]!;
      if (v === 0) continue;
      const t = Math.log1p(v) / lmax;
      // light blue → dark blue
      const R = Math.round(200 - 190 * t),
        G = Math.round(225 - 175 * t),
        B = Math.round(255 - 115 * t);
      ctx.fillStyle = `rgb(${R},${G},${B})`;
      ctx.fillRect(ax.px(c / bins), ax.py((r + 1) / bins), Math.ceil(cw), Math.ceil(ch));
    }
  }
  ctx.strokeStyle = '#000000';
  ctx.lineWidth = 1.5;
  ctx.strokeRect(rect.x, rect.y, rect.w, rect.h);
  ctx.font = font(13);
  ctx.fillStyle = '#333333';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'top';
  ctx.fillText(`darkest cell: ${max} boxes (log shading)`, rect.x + rect.w - 6, rect.y + 6);
}

function bars(
  ctx: Ctx,
  rect: Rect,
  values: readonly number[],
  x0: number,
  binWidth: number,
  title: string,
  xLabel: string,
  color: string,
  xTicks: number[],
): void {
  const max = Math.max(0, ...values);
  if (values.length === 0 || max === 0) {
    noData(ctx, rect, title);
    return;
  }
  const yTicks = niceTicks(max);
  const x1 = x0 + values.length * binWidth;
  const ax = drawAxes(ctx, rect, { title, xLabel, yLabel: 'count', xRange: [x0, x1], yRange: [0, yTicks[yTicks.length - 1]!], xTicks, yTicks });
  ctx.fillStyle = color;
  values.forEach((v, i) => {
    if (v === 0) return;
    const xa = ax.px(x0 + i * binWidth),
      xb = ax.px(x0 + (i + 1) * binWidth);
    const y = ax.py(v);
    ctx.fillRect(xa + 1, y, Math.max(1, xb - xa - 2), rect.y + rect.h - y);
  });
}

/** Draws the four panels and writes the PNG. */
export async function plotDatasetStats(s: DatasetStats, path: string): Promise<void> {
  const W = 1600,
    H = 1200;
  const { canvas, ctx } = newCanvas(W, H);
  ctx.fillStyle = '#000000';
  ctx.font = font(24, true);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const badNote = s.bad.length > 0 ? `, ${s.bad.length} bad input entries` : '';
  ctx.fillText(fitText(ctx, `${s.name} [${s.split}]: ${s.images} images, ${s.totalInstances} boxes${badNote}`, W - 40), W / 2, 14);

  const panel = (col: number, row: number, bottomRoom: number): Rect => ({
    x: 110 + col * 800,
    y: 110 + row * 560,
    w: 800 - 170,
    h: 560 - 110 - bottomRoom,
  });
  classBars(ctx, panel(0, 0, Object.keys(s.instances).length > 6 ? 60 : 10), s);
  whHistogram(ctx, panel(1, 0, 10), s);

  const bh = s.boxesPerImage.histogram;
  const nb = bh.counts.length * bh.binWidth;
  bars(
    ctx,
    panel(0, 1, 10),
    bh.counts,
    -0.5,
    bh.binWidth,
    `boxes per image (mean ${s.boxesPerImage.mean.toFixed(1)}, max ${s.boxesPerImage.max}, ${s.imagesWithoutLabels} without labels)`,
    'boxes in the image',
    '#3c78d8',
    niceTicks(nb, 6).filter((t) => t <= nb - 0.5),
  );
  const sb = s.boxSize;
  bars(
    ctx,
    panel(1, 1, 10),
    sb.counts,
    0,
    1 / sb.bins,
    `box size (median ${sb.median.toFixed(3)})`,
    'sqrt(box area / image area)',
    '#e69138',
    [0, 0.2, 0.4, 0.6, 0.8, 1],
  );
  await savePng(canvas, path);
}
