/**
 * The one internal representation every dataset format is read into. Boxes are
 * xyxy in pixels of the original image. Nothing is dropped silently: every
 * problem found while reading goes into the dataset's bad-input report.
 */
import type { FormatName } from './formats/names.js';

export interface Annotation {
  /** Class index into the dataset's `names`. */
  cls: number;
  /** [x1, y1, x2, y2] in original-image pixels. */
  box: [number, number, number, number];
  /** VOC `difficult`: ignored by evaluation. */
  difficult?: boolean;
  /** COCO `iscrowd`: a region matched without counting as a detection. */
  iscrowd?: boolean;
  /** Identity of the object template (embedding tasks). */
  identity?: number;
}

export interface ImageRecord {
  id: number;
  /**
   * COCO sources: the image's `id` in its instances JSON, as written there (a
   * string id there gets a generated number as `id`). What COCO results files
   * (`predict --save-json`) refer to the image by.
   */
  cocoId?: number | string;
  /** Absolute path of the image file. */
  file: string;
  width: number;
  height: number;
  annotations: Annotation[];
}

export interface BadInput {
  /** The file the problem is in (annotation or image). */
  file: string;
  problem: string;
  /** What was done about it. */
  action: 'dropped' | 'clipped' | 'skipped' | 'fatal';
}

export interface DetectionDataset {
  name: string;
  /** Where it was read from. */
  source: string;
  /** The format it was read from; 'builtin' for the generated datasets. */
  format: FormatName | 'builtin';
  names: string[];
  /**
   * COCO sources: the original `category_id` of each class index (class `i` is
   * category `categoryIds[i]`; categories are sorted by id, which need not be
   * contiguous or start at 1). Absent for the other formats.
   */
  categoryIds?: Array<number | string>;
  splits: Record<string, ImageRecord[]>;
  bad: BadInput[];
}

/** Widths and heights of every box of a split, scaled as the images will be for training at `imgsz` (letterboxed). */
export function boxSizesAtImageSize(images: readonly ImageRecord[], imgsz: number): Float32Array {
  let n = 0;
  for (const im of images) n += im.annotations.length;
  const wh = new Float32Array(n * 2);
  let k = 0;
  for (const im of images) {
    const s = imgsz / Math.max(im.width, im.height);
    for (const a of im.annotations) {
      wh[k++] = (a.box[2] - a.box[0]) * s;
      wh[k++] = (a.box[3] - a.box[1]) * s;
    }
  }
  return wh;
}

/** An 8-bit RGB image, HWC, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * One training/evaluation sample after decoding and (optionally) augmentation:
 * the image and its labels in that image's pixel coordinates.
 */
export interface Sample {
  image: RgbImage;
  /** n × 4, xyxy pixels. */
  boxes: Float32Array;
  /** n class indices. */
  cls: Int32Array;
  /** Optional per-instance binary masks (HW each, 0/1), aligned with boxes. */
  masks?: Uint8Array[];
  /** Optional identity id per instance (−1 when unknown). */
  identity?: Int32Array;
  /** Optional attribute index per instance (e.g. colour; −1 when unknown), aligned with boxes. */
  attrs?: Int32Array;
  /**
   * Optional image-level multi-label targets (classes + attributes), 0/1. The
   * augmentations keep a union of their inputs' labels (an upper bound once a
   * crop removes objects): the data loader recomputes them from the surviving
   * instances (`cls`, `attrs`).
   */
  labels?: Float32Array;
  /** Source image file, for error messages and plots. */
  file: string;
  /** Letterbox/affine mapping back to the original image (evaluation). */
  original?: { width: number; height: number; scale: number; padX: number; padY: number };
}
