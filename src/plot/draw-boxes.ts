/**
 * Boxes drawn on images (@napi-rs/canvas): one colour per class (the shared
 * palette), a label "name" or "name 0.87" on a filled tab above the box
 * (inside it when there is no room above), optional instance masks tinted in
 * the class colour. `drawSamplesGrid` lays out several samples as thumbnails
 * with their boxes and file names (`yolor data preview`, training batch plots).
 */
import { basename } from 'node:path';
import { type Canvas, createCanvas, ImageData } from '@napi-rs/canvas';
import type { RgbImage } from '../data/types.js';
import { type Ctx, fitText, font, paletteColor } from './canvas.js';

export interface BoxLabels {
  /** n × 4 xyxy in image pixels. */
  boxes: ArrayLike<number>;
  /** n class indices. */
  cls: ArrayLike<number>;
  /** Optional n confidences, printed after the name. */
  scores?: ArrayLike<number>;
  /** Optional per-instance 0/1 masks (image-sized), tinted in the class colour. */
  masks?: readonly Uint8Array[];
}

export interface DrawBoxesOptions {
  /** Box line width in output pixels (default from the image size, as Ultralytics: max(round((w+h)/2·0.003), 2)). */
  lineWidth?: number;
  /** Label font size in output pixels (default from the line width). */
  fontSize?: number;
  /** Mask tint opacity (default 0.45). */
  maskAlpha?: number;
  /** Hide labels (boxes only). */
  hideLabels?: boolean;
}

function hexRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** Text colour readable on `hex`: black on light colours, white on dark ones. */
function textColorOn(hex: string): string {
  const [r, g, b] = hexRgb(hex);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? '#000000' : '#ffffff';
}

export function className(names: readonly string[], c: number): string {
  return names[c] ?? `class ${c}`;
}

/** A canvas holding the RGB image (masks of `labels`, if any, tinted in). */
export function imageCanvas(img: RgbImage, labels?: BoxLabels, maskAlpha = 0.45): Canvas {
  const { width: w, height: h, data } = img;
  if (data.length !== w * h * 3) throw new Error(`imageCanvas: RGB data has ${data.length} bytes; expected ${w}×${h}×3`);
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0, j = 0; i < w * h; i++, j += 4) {
    rgba[j] = data[i * 3]!;
    rgba[j + 1] = data[i * 3 + 1]!;
    rgba[j + 2] = data[i * 3 + 2]!;
    rgba[j + 3] = 255;
  }
  const masks = labels?.masks;
  if (masks) {
    masks.forEach((m, k) => {
      if (m.length !== w * h) return;
      const [r, g, b] = hexRgb(paletteColor(labels.cls[k] ?? 0));
      for (let i = 0, j = 0; i < w * h; i++, j += 4) {
        if (!m[i]) continue;
        rgba[j] = rgba[j]! * (1 - maskAlpha) + r * maskAlpha;
        rgba[j + 1] = rgba[j + 1]! * (1 - maskAlpha) + g * maskAlpha;
        rgba[j + 2] = rgba[j + 2]! * (1 - maskAlpha) + b * maskAlpha;
      }
    });
  }
  const canvas = createCanvas(w, h);
  canvas.getContext('2d').putImageData(new ImageData(rgba, w, h), 0, 0);
  return canvas;
}

/**
 * Draws boxes and labels on `ctx`; box coordinates are mapped by
 * x·scale + offsetX, y·scale + offsetY (thumbnails), and drawing is clipped to
 * `clip` when given.
 */
export function drawBoxesOnContext(
  ctx: Ctx,
  labels: BoxLabels,
  names: readonly string[],
  opts: DrawBoxesOptions & { scale?: number; offsetX?: number; offsetY?: number; clip?: { x: number; y: number; w: number; h: number } } = {},
): void {
  const scale = opts.scale ?? 1;
  const ox = opts.offsetX ?? 0;
  const oy = opts.offsetY ?? 0;
  const lw = opts.lineWidth ?? 2;
  const fs = opts.fontSize ?? Math.max(13, lw * 6.5);
  const n = Math.floor(labels.boxes.length / 4);
  ctx.save();
  if (opts.clip) {
    ctx.beginPath();
    ctx.rect(opts.clip.x, opts.clip.y, opts.clip.w, opts.clip.h);
    ctx.clip();
  }
  ctx.lineWidth = lw;
  ctx.lineJoin = 'miter';
  ctx.font = font(fs);
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  const top = opts.clip ? opts.clip.y : 0;
  // Boxes first, then labels on top so no box line crosses a label.
  const rects: { x: number; y: number; w: number; h: number; color: string; text: string }[] = [];
  for (let i = 0; i < n; i++) {
    const x1 = labels.boxes[i * 4]! * scale + ox;
    const y1 = labels.boxes[i * 4 + 1]! * scale + oy;
    const x2 = labels.boxes[i * 4 + 2]! * scale + ox;
    const y2 = labels.boxes[i * 4 + 3]! * scale + oy;
    const c = labels.cls[i]!;
    const color = paletteColor(c);
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, Math.max(0, x2 - x1), Math.max(0, y2 - y1));
    const score = labels.scores?.[i];
    rects.push({
      x: x1,
      y: y1,
      w: x2 - x1,
      h: y2 - y1,
      color,
      text: score === undefined ? className(names, c) : `${className(names, c)} ${score.toFixed(2)}`,
    });
  }
  if (!opts.hideLabels) {
    const pad = Math.max(2, Math.round(fs * 0.2));
    const th = Math.ceil(fs * 1.15) + pad;
    for (const r of rects) {
      const text = fitText(ctx, r.text, Math.max(r.w, fs * 8));
      const tw = Math.ceil(ctx.measureText(text).width) + 2 * pad;
      const bx = r.x - lw / 2;
      const outside = r.y - lw / 2 - th >= top;
      const by = outside ? r.y - lw / 2 - th : r.y - lw / 2;
      ctx.fillStyle = r.color;
      ctx.fillRect(bx, by, tw, th);
      ctx.fillStyle = textColorOn(r.color);
      ctx.fillText(text, bx + pad, by + pad / 2 + 1);
    }
  }
  ctx.restore();
}

/** The image with boxes (and masks) drawn, at the image's own size. */
export function drawBoxes(img: RgbImage, labels: BoxLabels, names: readonly string[], opts: DrawBoxesOptions = {}): Canvas {
  const canvas = imageCanvas(img, labels, opts.maskAlpha);
  const lw = opts.lineWidth ?? Math.max(Math.round(((img.width + img.height) / 2) * 0.003), 2);
  drawBoxesOnContext(canvas.getContext('2d'), labels, names, { ...opts, lineWidth: lw });
  return canvas;
}

/** `drawBoxes` encoded as PNG. */
export function drawBoxesPng(img: RgbImage, labels: BoxLabels, names: readonly string[], opts: DrawBoxesOptions = {}): Buffer {
  return drawBoxes(img, labels, names, opts).toBuffer('image/png');
}

/** One grid cell: a `Sample` fits (image, boxes, cls, masks, file); `scores` and `title` are optional. */
export interface GridItem extends BoxLabels {
  image: RgbImage;
  /** Shown (base name) above the thumbnail unless `title` is given. */
  file?: string;
  title?: string;
}

export interface GridOptions extends DrawBoxesOptions {
  /** Thumbnail side in pixels (default: min(512, 1920 / cols)). */
  tileSize?: number;
  /** Show file names / titles above the thumbnails (default true). */
  titles?: boolean;
}

/**
 * A grid of thumbnails (each image scaled to fit a tileSize square, keeping
 * its aspect ratio) with their boxes; returns the PNG.
 */
export function drawSamplesGrid(samples: readonly GridItem[], names: readonly string[], cols = 4, opts: GridOptions = {}): Buffer {
  if (samples.length === 0) throw new Error('drawSamplesGrid: no samples');
  const nc = Math.max(1, Math.min(Math.floor(cols), samples.length));
  const nr = Math.ceil(samples.length / nc);
  const tile = Math.round(opts.tileSize ?? Math.min(512, Math.floor(1920 / nc)));
  const gap = 4;
  const titles = opts.titles ?? true;
  const titleFs = Math.max(11, Math.min(16, Math.round(tile / 24)));
  const titleH = titles ? titleFs + 8 : 0;
  const cellW = tile;
  const cellH = tile + titleH;
  const W = nc * cellW + (nc + 1) * gap;
  const H = nr * cellH + (nr + 1) * gap;
  const canvas = createCanvas(W, H);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, H);
  const lw = opts.lineWidth ?? Math.max(1.5, tile / 240);
  const fs = opts.fontSize ?? Math.max(10, Math.min(14, Math.round(tile / 30)));
  samples.forEach((s, k) => {
    const cx = gap + (k % nc) * (cellW + gap);
    const cy = gap + Math.floor(k / nc) * (cellH + gap);
    const iy = cy + titleH;
    ctx.fillStyle = '#202020';
    ctx.fillRect(cx, iy, tile, tile);
    const sc = tile / Math.max(s.image.width, s.image.height);
    const dw = s.image.width * sc;
    const dh = s.image.height * sc;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(imageCanvas(s.image, s, opts.maskAlpha), cx, iy, dw, dh);
    const drawOpts: Parameters<typeof drawBoxesOnContext>[3] = {
      scale: sc,
      offsetX: cx,
      offsetY: iy,
      lineWidth: lw,
      fontSize: fs,
      clip: { x: cx, y: iy, w: tile, h: tile },
    };
    if (opts.hideLabels) drawOpts.hideLabels = true;
    drawBoxesOnContext(ctx, s, names, drawOpts);
    if (titles) {
      const t = s.title ?? (s.file ? basename(s.file) : `#${k}`);
      ctx.fillStyle = '#000000';
      ctx.font = font(titleFs);
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'left';
      ctx.fillText(fitText(ctx, t, tile - 4), cx + 2, cy + titleH / 2);
    }
  });
  return canvas.toBuffer('image/png');
}
