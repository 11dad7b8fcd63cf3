/**
 * Precision-recall curve PNG: one thin curve per class, the mean over classes
 * with ground truth in bold, and a legend with each class's AP50 (per-class
 * entries only up to 20 classes, as Ultralytics does; beyond that the
 * per-class curves are grey).
 */
import type { PrCurves } from '../eval/detection-metrics.js';
import { drawAxes, fitText, font, newCanvas, paletteColor, savePng } from './canvas.js';

export interface PrCurveOptions {
  title?: string;
  /** Most classes listed individually in the legend (default 20). */
  maxLegendClasses?: number;
}

export async function writePrCurvePng(path: string, curves: PrCurves, classNames: readonly string[], opts: PrCurveOptions = {}): Promise<void> {
  const W = 1400;
  const H = 900;
  const { canvas, ctx } = newCanvas(W, H);
  const plot = { x: 110, y: 70, w: 760, h: 720 };
  const axes = drawAxes(ctx, plot, { xLabel: 'Recall', yLabel: 'Precision', title: opts.title ?? 'Precision-Recall (IoU 0.5)', fontSize: 20 });
  const rx = curves.recall;
  const classes = curves.precision.map((_, c) => c).filter((c) => curves.ap50[c]! >= 0);
  const listEach = classes.length <= (opts.maxLegendClasses ?? 20);

  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.x, plot.y, plot.w, plot.h);
  ctx.clip();
  const drawCurve = (py: ArrayLike<number>, color: string, width: number): void => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    for (let i = 0; i < rx.length; i++) {
      const x = axes.px(rx[i]!);
      const y = axes.py(py[i]!);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  };
  for (const c of classes) drawCurve(curves.precision[c]!, listEach ? paletteColor(c) : '#9e9e9e', listEach ? 2 : 1);
  const mean = new Float64Array(rx.length);
  for (const c of classes) {
    const py = curves.precision[c]!;
    for (let i = 0; i < rx.length; i++) mean[i]! += py[i]! / classes.length;
  }
  if (classes.length) drawCurve(mean, '#1f3fbf', 4.5);
  ctx.restore();

  // Legend to the right of the plot.
  const meanAp = classes.length ? classes.reduce((s, c) => s + curves.ap50[c]!, 0) / classes.length : 0;
  const lx = plot.x + plot.w + 30;
  const lw = W - lx - 20;
  let ly = plot.y + 4;
  const entry = (color: string, width: number, text: string, bold = false, size = 17): void => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(lx, ly + size / 2);
    ctx.lineTo(lx + 34, ly + size / 2);
    ctx.stroke();
    ctx.fillStyle = '#000000';
    ctx.font = font(size, bold);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    ctx.fillText(fitText(ctx, text, lw - 46), lx + 44, ly + size / 2);
    ly += size + 9;
  };
  entry('#1f3fbf', 4.5, `all classes ${meanAp.toFixed(3)} mAP@0.5`, true, 18);
  if (classes.length === 0) {
    ctx.fillStyle = '#666666';
    ctx.font = font(16);
    ctx.fillText('no class has ground truth', lx, ly + 10);
  } else if (listEach) {
    const size = classes.length > 14 ? 14 : 17;
    for (const c of classes) entry(paletteColor(c), 2, `${classNames[c] ?? String(c)} ${curves.ap50[c]!.toFixed(3)}`, false, size);
  } else {
    entry('#9e9e9e', 1, `${classes.length} classes (each in grey)`, false, 16);
  }
  await savePng(canvas, path);
}
