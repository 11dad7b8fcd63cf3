/**
 * Input sizes a model accepts: positive multiples of its largest output
 * stride. A requested size that is not one is rounded up to the next, with a
 * warning saying so (as YOLO tools do), instead of failing at the first
 * forward pass.
 */
import type { ModelConfig } from './config.js';
import { NECK_FAMILIES } from './registry.js';

/** The largest output stride of a model built from `cfg` (P5 = 32; a BiFPN over P3–P7: 128). */
export function maxStrideOf(cfg: ModelConfig): number {
  const levels = NECK_FAMILIES[cfg.neck].outLevels(cfg.dims);
  return 2 ** (2 + levels);
}

export interface FittedImageSize {
  imgsz: number;
  /** Set when the size was rounded: what was asked, what is used and why. */
  warning: string | null;
}

/** `imgsz` rounded up to a multiple of `stride`; an error for a size that is not a positive integer. */
export function fitImageSize(imgsz: number, stride: number, model = 'the model'): FittedImageSize {
  if (!Number.isInteger(imgsz) || imgsz <= 0) throw new Error(`image size must be a positive integer; got ${imgsz}`);
  if (imgsz % stride === 0) return { imgsz, warning: null };
  const fitted = Math.ceil(imgsz / stride) * stride;
  return { imgsz: fitted, warning: `image size ${imgsz} is not a multiple of the largest stride ${stride} of ${model}; using ${fitted}` };
}
