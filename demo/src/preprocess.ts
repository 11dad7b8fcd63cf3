/**
 * Image → model input, with the library's own letterbox code
 * (src/data/augment/letterbox-image.ts, imported as is), so the browser feeds
 * the graph the same bytes `yolor predict` does: bilinear resize keeping the
 * aspect ratio (block-averaged first when shrinking ≥ 2×), centred, grey 114
 * padding, then RGB / 255.
 */
import { letterboxImage } from '../../src/data/augment/letterbox-image.js';
import type { LetterboxParams } from '../../src/data/letterbox.js';
import type { RgbImage } from '../../src/data/types.js';

export type { RgbImage };

let scratch: HTMLCanvasElement | null = null;

/**
 * 8-bit RGB pixels of an image, video frame or bitmap, as decoded by the
 * browser. Transparent pixels are composited over black, as the library's
 * decoder (sharp `flatten` on black) does.
 */
export function readRgb(source: CanvasImageSource, width: number, height: number): RgbImage {
  scratch ??= document.createElement('canvas');
  scratch.width = width;
  scratch.height = height;
  // willReadFrequently keeps the canvas in CPU memory: exact pixel values, no GPU readback.
  const ctx = scratch.getContext('2d', { willReadFrequently: true, alpha: true });
  if (!ctx) throw new Error('2D canvas is not available');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(source, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const n = width * height;
  const data = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    data[i * 3] = rgba[j]!;
    data[i * 3 + 1] = rgba[j + 1]!;
    data[i * 3 + 2] = rgba[j + 2]!;
  }
  return { data, width, height };
}

/** Letterboxes `img` to size × size and scales to [0, 1] in the given layout. */
export function toModelInput(img: RgbImage, size: number, layout: 'NHWC' | 'NCHW'): { input: Float32Array; params: LetterboxParams } {
  const { image, params } = letterboxImage(img, size);
  const src = image.data;
  const hw = size * size;
  const input = new Float32Array(hw * 3);
  if (layout === 'NHWC') {
    for (let i = 0; i < src.length; i++) input[i] = src[i]! / 255;
  } else {
    for (let p = 0; p < hw; p++) {
      input[p] = src[p * 3]! / 255;
      input[hw + p] = src[p * 3 + 1]! / 255;
      input[2 * hw + p] = src[p * 3 + 2]! / 255;
    }
  }
  return { input, params };
}
