/** Drawing: the image, then each box with a "name score" label in a per-class colour. */
import type { DemoDetection } from './detect.js';

/** Ultralytics-like palette, one colour per class (cycled). */
const PALETTE = ['#ff3838', '#ff9d97', '#ff701f', '#ffb21d', '#cff231', '#48f90a', '#92cc17', '#3ddb86', '#1a9334', '#00d4bb',
  '#2c99a8', '#00c2ff', '#344593', '#6473ff', '#0018ec', '#8438ff', '#520085', '#cb38ff', '#ff95c8', '#ff37c7'];

export function classColor(cls: number): string {
  return PALETTE[cls % PALETTE.length]!;
}

export function drawDetections(canvas: HTMLCanvasElement, source: CanvasImageSource, width: number, height: number, dets: readonly DemoDetection[]): void {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.drawImage(source, 0, 0, width, height);
  const line = Math.max(1, Math.round(Math.min(width, height) / 250));
  const font = Math.max(10, Math.round(Math.min(width, height) / 40));
  ctx.lineWidth = line;
  ctx.font = `${font}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  // Lowest score first, so the best boxes end up on top.
  for (const d of [...dets].reverse()) {
    const [x1, y1, x2, y2] = d.box;
    const color = classColor(d.cls);
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const label = `${d.name} ${d.score.toFixed(2)}`;
    const tw = ctx.measureText(label).width + 4;
    const ty = y1 - font - 2 >= 0 ? y1 - font - 2 : y1;
    ctx.fillStyle = color;
    ctx.fillRect(x1, ty, tw, font + 2);
    ctx.fillStyle = '#fff';
    ctx.fillText(label, x1 + 2, ty + 1);
  }
}
