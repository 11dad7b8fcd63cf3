/**
 * Drawing: the image, a multi-task model's class map as a semi-transparent
 * overlay (class c in the colour of class c's boxes), then each box with a
 * "name score" label in its class colour. Small images are drawn at an
 * integer scale (nearest neighbour) so that boxes and text stay sharp; box
 * edges sit on whole pixels, so their colour is exact.
 */
import type { DemoDetection } from './detect.js';

/** Ultralytics-like palette, one colour per class (cycled). */
const PALETTE = [
  '#ff3838',
  '#ff9d97',
  '#ff701f',
  '#ffb21d',
  '#cff231',
  '#48f90a',
  '#92cc17',
  '#3ddb86',
  '#1a9334',
  '#00d4bb',
  '#2c99a8',
  '#00c2ff',
  '#344593',
  '#6473ff',
  '#0018ec',
  '#8438ff',
  '#520085',
  '#cb38ff',
  '#ff95c8',
  '#ff37c7',
];

/** Opacity of the segmentation overlay. */
export const OVERLAY_ALPHA = 0.45;

export function classColor(cls: number): string {
  return PALETTE[cls % PALETTE.length]!;
}

export function classRgb(cls: number): [number, number, number] {
  const hex = classColor(cls);
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

/** Canvas pixels per image pixel: images smaller than `target` px on their long side are magnified by a whole factor. */
export function displayScale(width: number, height: number, target = 720): number {
  return Math.max(1, Math.floor(target / Math.max(width, height)));
}

export interface Scene {
  source: CanvasImageSource;
  width: number;
  height: number;
  detections: readonly DemoDetection[];
  /** Class per image pixel (0 background, c + 1 class c), or null. */
  classMap: Uint8Array | null;
  /** Draw the class map (default true). */
  overlay?: boolean;
}

/** The class map as an image-sized RGBA layer: class colours at OVERLAY_ALPHA, background transparent. */
function overlayLayer(classMap: Uint8Array, width: number, height: number): HTMLCanvasElement {
  const layer = document.createElement('canvas');
  layer.width = width;
  layer.height = height;
  const ctx = layer.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  const a = Math.round(OVERLAY_ALPHA * 255);
  const colors = new Map<number, [number, number, number]>();
  for (let p = 0; p < classMap.length; p++) {
    const c = classMap[p]!;
    if (c === 0) continue;
    let rgb = colors.get(c);
    if (!rgb) {
      rgb = classRgb(c - 1);
      colors.set(c, rgb);
    }
    img.data.set([rgb[0], rgb[1], rgb[2], a], p * 4);
  }
  ctx.putImageData(img, 0, 0);
  return layer;
}

/** Draws `scene` on `canvas`, sized image × displayScale; returns that scale. */
export function drawScene(canvas: HTMLCanvasElement, scene: Scene): number {
  const { width, height } = scene;
  const s = displayScale(width, height);
  canvas.width = width * s;
  canvas.height = height * s;
  const ctx = canvas.getContext('2d');
  if (!ctx) return s;
  ctx.imageSmoothingEnabled = s === 1;
  ctx.drawImage(scene.source, 0, 0, width * s, height * s);
  if (scene.classMap && (scene.overlay ?? true)) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(overlayLayer(scene.classMap, width, height), 0, 0, width * s, height * s);
  }
  const W = width * s;
  const H = height * s;
  const line = Math.max(2, Math.round(Math.min(W, H) / 250));
  const font = Math.max(12, Math.round(Math.min(W, H) / 36));
  // An even line width centred on a whole pixel covers whole pixels: exact colours.
  const at = (v: number): number => Math.round(v * s);
  ctx.lineWidth = line;
  ctx.font = `${font}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  // Lowest score first, so the best boxes end up on top.
  for (const d of [...scene.detections].reverse()) {
    const [x1, y1, x2, y2] = d.box.map(at) as [number, number, number, number];
    const color = classColor(d.cls);
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const label = `${d.name} ${d.score.toFixed(2)}`;
    const tw = Math.ceil(ctx.measureText(label).width) + 6;
    const th = font + 4;
    const ty = y1 - th >= 0 ? y1 - th : y1;
    ctx.fillStyle = color;
    ctx.fillRect(x1 - line / 2, ty, tw, th);
    ctx.fillStyle = '#fff';
    ctx.fillText(label, x1 - line / 2 + 3, ty + 2);
  }
  return s;
}
