/**
 * Confusion-matrix heatmap PNG: columns are the true classes, rows the
 * predicted ones, the last row / column is background. With `normalize`
 * (default) every column is divided by its sum, so a cell reads "fraction of
 * this true class predicted as that class". Cell values are written when there
 * are at most 30 rows (and left blank when they round to zero).
 */
import type { ConfusionMatrix } from '../eval/detection-metrics.js';
import { fitText, font, newCanvas, savePng } from './canvas.js';

export interface ConfusionMatrixPlotOptions {
  normalize?: boolean;
  title?: string;
}

/** White -> dark blue ramp (roughly matplotlib's "Blues"). */
function blues(t: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [
    [247, 251, 255],
    [222, 235, 247],
    [198, 219, 239],
    [158, 202, 225],
    [107, 174, 214],
    [66, 146, 198],
    [33, 113, 181],
    [8, 81, 156],
    [8, 48, 107],
  ];
  const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  const a = stops[i]!,
    b = stops[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

export async function writeConfusionMatrixPng(
  path: string,
  cm: Pick<ConfusionMatrix, 'matrix' | 'size'>,
  names: readonly string[],
  opts: ConfusionMatrixPlotOptions = {},
): Promise<void> {
  const n = cm.size;
  if (cm.matrix.length !== n * n) throw new Error(`confusion matrix has ${cm.matrix.length} entries, expected ${n}x${n}`);
  const normalize = opts.normalize ?? true;
  const labels = Array.from({ length: n }, (_, i) => (i === n - 1 ? 'background' : (names[i] ?? String(i))));
  const values = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    let sum = 0;
    for (let r = 0; r < n; r++) sum += cm.matrix[r * n + c]!;
    for (let r = 0; r < n; r++) values[r * n + c] = normalize ? cm.matrix[r * n + c]! / (sum + 1e-9) : cm.matrix[r * n + c]!;
  }
  let vmax = 0;
  for (const v of values) vmax = Math.max(vmax, v);
  if (normalize) vmax = 1;

  const cell = Math.max(10, Math.min(64, Math.floor(1000 / n)));
  const labelFs = Math.max(8, Math.min(16, cell * 0.45));
  const valueFs = Math.max(8, Math.min(15, cell * 0.32));
  const showValues = n <= 30;
  const { ctx: probe } = newCanvas(1, 1);
  probe.font = font(labelFs);
  const labelW = Math.min(220, Math.max(...labels.map((l) => probe.measureText(l).width)) + 12);
  const left = labelW + 60;
  const top = 70;
  const gridW = cell * n;
  const barW = 24;
  const W = left + gridW + 40 + barW + 70;
  const H = top + gridW + labelW + 60;
  const { canvas, ctx } = newCanvas(W, H);

  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const v = values[r * n + c]!;
      const [R, G, B] = blues(vmax > 0 ? v / vmax : 0);
      ctx.fillStyle = `rgb(${R},${G},${B})`;
      ctx.fillRect(left + c * cell, top + r * cell, cell, cell);
      if (showValues && v > 0) {
        const text = normalize ? v.toFixed(2) : String(Math.round(v));
        if (normalize && text === '0.00') continue;
        ctx.fillStyle = vmax > 0 && v / vmax > 0.5 ? '#ffffff' : '#000000';
        ctx.font = font(valueFs);
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillText(text, left + c * cell + cell / 2, top + r * cell + cell / 2);
      }
    }
  }
  ctx.strokeStyle = '#000000';
  ctx.lineWidth = 1;
  ctx.strokeRect(left, top, gridW, gridW);

  // Row labels (predicted) and column labels (true, rotated).
  ctx.fillStyle = '#000000';
  ctx.font = font(labelFs);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let r = 0; r < n; r++) ctx.fillText(fitText(ctx, labels[r]!, labelW - 8), left - 6, top + r * cell + cell / 2);
  for (let c = 0; c < n; c++) {
    ctx.save();
    ctx.translate(left + c * cell + cell / 2, top + gridW + 6);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(fitText(ctx, labels[c]!, labelW - 8), 0, 0);
    ctx.restore();
  }
  ctx.font = font(18);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText('True', left + gridW / 2, H - 14);
  ctx.save();
  ctx.translate(22, top + gridW / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'top';
  ctx.fillText('Predicted', 0, 0);
  ctx.restore();
  ctx.font = font(20, true);
  ctx.textBaseline = 'bottom';
  ctx.fillText(opts.title ?? `Confusion Matrix${normalize ? ' (normalized by true class)' : ''}`, left + gridW / 2, top - 18);

  // Colour bar.
  const bx = left + gridW + 40;
  for (let i = 0; i < gridW; i++) {
    const [R, G, B] = blues(1 - i / Math.max(gridW - 1, 1));
    ctx.fillStyle = `rgb(${R},${G},${B})`;
    ctx.fillRect(bx, top + i, barW, 1);
  }
  ctx.strokeRect(bx, top, barW, gridW);
  ctx.fillStyle = '#000000';
  ctx.font = font(13);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (let k = 0; k <= 4; k++) {
    const v = (vmax * k) / 4;
    const y = top + gridW - (gridW * k) / 4;
    ctx.fillText(normalize ? v.toFixed(2) : String(Math.round(v * 10) / 10), bx + barW + 6, y);
  }
  await savePng(canvas, path);
}
