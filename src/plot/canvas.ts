/**
 * Small drawing helpers shared by the PNG plots: canvas creation, a colour
 * palette, axes with ticks and labels, and atomic PNG output.
 */
import { type Canvas, createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';
import { writeFileAtomic } from '../io/atomic-write.js';

export type Ctx = SKRSContext2D;

/** System fonts that @napi-rs/canvas finds through fontconfig; the generic family is the fallback. */
export const FONT_FAMILY = '"DejaVu Sans", "Liberation Sans", Arial, sans-serif';

export function font(sizePx: number, bold = false): string {
  return `${bold ? 'bold ' : ''}${Math.round(sizePx)}px ${FONT_FAMILY}`;
}

/** Ultralytics' plotting palette (hex), cycled by index. */
const PALETTE = [
  '#FF3838',
  '#FF9D97',
  '#FF701F',
  '#FFB21D',
  '#CFD231',
  '#48F90A',
  '#92CC17',
  '#3DDB86',
  '#1A9334',
  '#00D4BB',
  '#2C99A8',
  '#00C2FF',
  '#344593',
  '#6473FF',
  '#0018EC',
  '#8438FF',
  '#520085',
  '#CB38FF',
  '#FF95C8',
  '#FF37C7',
];

export function paletteColor(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

let fontWarningShown = false;

/**
 * Warns once on stderr when the system has no fonts at all (a bare container):
 * the plots are still written, but without any text.
 */
function warnIfNoFonts(): void {
  if (fontWarningShown) return;
  fontWarningShown = true;
  if (GlobalFonts.families.length === 0) {
    process.stderr.write(
      'warning: no system fonts found, so plots are drawn without text ' + '(install a font package, e.g. fonts-dejavu-core on Debian/Ubuntu)\n',
    );
  }
}

export function newCanvas(width: number, height: number): { canvas: Canvas; ctx: Ctx } {
  warnIfNoFonts();
  const canvas = createCanvas(Math.round(width), Math.round(height));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return { canvas, ctx };
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface AxesOptions {
  xLabel?: string;
  yLabel?: string;
  title?: string;
  /** Data ranges (default [0, 1] each). */
  xRange?: [number, number];
  yRange?: [number, number];
  /** Tick values (default 0, 0.2, ..., 1). */
  xTicks?: readonly number[];
  yTicks?: readonly number[];
  grid?: boolean;
  fontSize?: number;
}

export interface Axes {
  rect: Rect;
  /** Data to pixel coordinates. */
  px(x: number): number;
  py(y: number): number;
}

const DEFAULT_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];

function tickLabel(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
}

/** Draws a framed plot area with ticks, tick labels, optional grid, axis labels and title. */
export function drawAxes(ctx: Ctx, rect: Rect, opts: AxesOptions = {}): Axes {
  const [x0, x1] = opts.xRange ?? [0, 1];
  const [y0, y1] = opts.yRange ?? [0, 1];
  const fs = opts.fontSize ?? 16;
  const px = (x: number): number => rect.x + ((x - x0) / (x1 - x0)) * rect.w;
  const py = (y: number): number => rect.y + rect.h - ((y - y0) / (y1 - y0)) * rect.h;
  const xTicks = opts.xTicks ?? DEFAULT_TICKS;
  const yTicks = opts.yTicks ?? DEFAULT_TICKS;

  if (opts.grid !== false) {
    ctx.strokeStyle = '#e6e6e6';
    ctx.lineWidth = 1;
    for (const t of xTicks) {
      ctx.beginPath();
      ctx.moveTo(Math.round(px(t)) + 0.5, rect.y);
      ctx.lineTo(Math.round(px(t)) + 0.5, rect.y + rect.h);
      ctx.stroke();
    }
    for (const t of yTicks) {
      ctx.beginPath();
      ctx.moveTo(rect.x, Math.round(py(t)) + 0.5);
      ctx.lineTo(rect.x + rect.w, Math.round(py(t)) + 0.5);
      ctx.stroke();
    }
  }

  ctx.strokeStyle = '#000000';
  ctx.lineWidth = 1.5;
  ctx.strokeRect(rect.x, rect.y, rect.w, rect.h);

  ctx.fillStyle = '#000000';
  ctx.font = font(fs * 0.85);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xTicks) {
    const x = px(t);
    ctx.beginPath();
    ctx.moveTo(x, rect.y + rect.h);
    ctx.lineTo(x, rect.y + rect.h + 6);
    ctx.stroke();
    ctx.fillText(tickLabel(t), x, rect.y + rect.h + 9);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yTicks) {
    const y = py(t);
    ctx.beginPath();
    ctx.moveTo(rect.x - 6, y);
    ctx.lineTo(rect.x, y);
    ctx.stroke();
    ctx.fillText(tickLabel(t), rect.x - 9, y);
  }

  ctx.font = font(fs);
  if (opts.xLabel) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText(opts.xLabel, rect.x + rect.w / 2, rect.y + rect.h + 12 + fs);
  }
  if (opts.yLabel) {
    ctx.save();
    ctx.translate(rect.x - 22 - fs * 2, rect.y + rect.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(opts.yLabel, 0, 0);
    ctx.restore();
  }
  if (opts.title) {
    ctx.font = font(fs * 1.15, true);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(opts.title, rect.x + rect.w / 2, rect.y - 12);
  }
  return { rect, px, py };
}

/** Shortens `text` with an ellipsis until it fits `maxWidth` in the current font. */
export function fitText(ctx: Ctx, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let s = text;
  while (s.length > 1 && ctx.measureText(`${s}…`).width > maxWidth) s = s.slice(0, -1);
  return `${s}…`;
}

/** Encodes the canvas as PNG and writes it atomically (parent directories are created). */
export async function savePng(canvas: Canvas, path: string): Promise<void> {
  await writeFileAtomic(path, canvas.toBuffer('image/png'));
}
