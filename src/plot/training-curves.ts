/** results.png: one small panel per loss and metric, over epochs. */
import { TASK_COLUMNS, type EpochRow } from '../train/results.js';
import { drawAxes, font, newCanvas, savePng } from './canvas.js';

const PANELS: Array<keyof EpochRow> = [
  'train/box_loss', 'train/obj_loss', 'train/cls_loss', 'metrics/precision(B)', 'metrics/recall(B)',
  'val/box_loss', 'val/obj_loss', 'val/cls_loss', 'metrics/mAP50(B)', 'metrics/mAP50-95(B)',
];

function niceTicks(lo: number, hi: number): number[] {
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / 4));
  const mult = [1, 2, 5, 10].find((m) => span / (m * step) <= 5) ?? 10;
  const s = mult * step;
  const out: number[] = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-12; v += s) out.push(Number(v.toPrecision(6)));
  return out;
}

export async function writeTrainingCurvesPng(path: string, rows: readonly EpochRow[]): Promise<void> {
  const cols = 5;
  const pw = 300;
  const ph = 230;
  // Detection panels (when the model detects), then the other tasks' losses and metrics.
  const has = (k: keyof EpochRow): boolean => rows.some((r) => r[k] !== undefined && Number.isFinite(r[k]));
  const panels: Array<keyof EpochRow> = [...(has('train/box_loss') || rows.length === 0 ? PANELS : []), ...TASK_COLUMNS.filter(has)];
  const { canvas, ctx } = newCanvas(cols * pw, Math.max(1, Math.ceil(panels.length / cols)) * ph);
  panels.forEach((key, i) => {
    const x0 = (i % cols) * pw;
    const y0 = Math.floor(i / cols) * ph;
    const xs = rows.map((r) => r.epoch);
    const ys = rows.map((r) => r[key] ?? Number.NaN).filter((v) => Number.isFinite(v));
    const xmax = Math.max(1, ...xs);
    let lo = ys.length ? Math.min(...ys) : 0;
    let hi = ys.length ? Math.max(...ys) : 1;
    if (hi - lo < 1e-9) {
      lo -= 0.5 * (Math.abs(lo) || 1);
      hi += 0.5 * (Math.abs(hi) || 1);
    }
    const axes = drawAxes(ctx, { x: x0 + 55, y: y0 + 30, w: pw - 75, h: ph - 70 }, {
      title: key, xRange: [0, xmax], yRange: [lo, hi], xTicks: niceTicks(0, xmax), yTicks: niceTicks(lo, hi), fontSize: 12,
    });
    ctx.strokeStyle = '#1f77b4';
    ctx.fillStyle = '#1f77b4';
    ctx.lineWidth = 2;
    ctx.beginPath();
    let started = false;
    for (const r of rows) {
      const v = r[key] ?? Number.NaN;
      if (!Number.isFinite(v)) continue;
      if (!started) ctx.moveTo(axes.px(r.epoch), axes.py(v));
      else ctx.lineTo(axes.px(r.epoch), axes.py(v));
      started = true;
    }
    ctx.stroke();
    for (const r of rows) {
      const v = r[key] ?? Number.NaN;
      if (Number.isFinite(v)) ctx.fillRect(axes.px(r.epoch) - 2, axes.py(v) - 2, 4, 4);
    }
  });
  ctx.fillStyle = '#000';
  ctx.font = font(11);
  await savePng(canvas, path);
}
