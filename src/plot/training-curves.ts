/**
 * Small multiples of curves over epochs (a run's results.png): one panel per
 * series, five to a row. The caller chooses the series (train/plots.ts maps a
 * run's results.csv columns to panels).
 */
import { drawAxes, font, newCanvas, savePng } from './canvas.js';

/** One panel: a titled series of (x, y) points; a non-finite y is a gap. */
export interface CurvePanel {
  title: string;
  x: readonly number[];
  y: readonly number[];
}

function niceTicks(lo: number, hi: number): number[] {
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / 4));
  const mult = [1, 2, 5, 10].find((m) => span / (m * step) <= 5) ?? 10;
  const s = mult * step;
  const out: number[] = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-12; v += s) out.push(Number(v.toPrecision(6)));
  return out;
}

/** Writes the panels as one PNG, `cols` panels to a row; every x axis starts at 0. */
export async function writeCurvesPng(path: string, panels: readonly CurvePanel[], cols = 5): Promise<void> {
  const pw = 300;
  const ph = 230;
  const { canvas, ctx } = newCanvas(cols * pw, Math.max(1, Math.ceil(panels.length / cols)) * ph);
  panels.forEach((panel, i) => {
    if (panel.x.length !== panel.y.length) throw new Error(`curve panel '${panel.title}': ${panel.x.length} x values for ${panel.y.length} y values`);
    const x0 = (i % cols) * pw;
    const y0 = Math.floor(i / cols) * ph;
    const ys = panel.y.filter((v) => Number.isFinite(v));
    const xmax = Math.max(1, ...panel.x);
    let lo = ys.length ? Math.min(...ys) : 0;
    let hi = ys.length ? Math.max(...ys) : 1;
    if (hi - lo < 1e-9) {
      lo -= 0.5 * (Math.abs(lo) || 1);
      hi += 0.5 * (Math.abs(hi) || 1);
    }
    const axes = drawAxes(
      ctx,
      { x: x0 + 55, y: y0 + 30, w: pw - 75, h: ph - 70 },
      {
        title: panel.title,
        xRange: [0, xmax],
        yRange: [lo, hi],
        xTicks: niceTicks(0, xmax),
        yTicks: niceTicks(lo, hi),
        fontSize: 12,
      },
    );
    ctx.strokeStyle = '#1f77b4';
    ctx.fillStyle = '#1f77b4';
    ctx.lineWidth = 2;
    ctx.beginPath();
    let started = false;
    panel.x.forEach((x, k) => {
      const v = panel.y[k]!;
      if (!Number.isFinite(v)) return;
      if (!started) ctx.moveTo(axes.px(x), axes.py(v));
      else ctx.lineTo(axes.px(x), axes.py(v));
      started = true;
    });
    ctx.stroke();
    panel.x.forEach((x, k) => {
      const v = panel.y[k]!;
      if (Number.isFinite(v)) ctx.fillRect(axes.px(x) - 2, axes.py(v) - 2, 4, 4);
    });
  });
  ctx.fillStyle = '#000';
  ctx.font = font(11);
  await savePng(canvas, path);
}
