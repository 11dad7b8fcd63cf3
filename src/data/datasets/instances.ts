/**
 * What the generated datasets (shapes, fashion) have in common: the colour
 * palette of their objects, labelled instance images built from an owner map
 * (which object each pixel shows), their records once cached (boxes plus masks,
 * colour attributes and identities) and the samples loaded from those records.
 */
import { decodeImage } from '../image-io.js';
import { decodeRle, encodeOwnerRle } from '../rle.js';
import type { ImageRecord, RgbImage, Sample } from '../types.js';

/** Colour attribute names, in index order. */
export const COLOR_NAMES: readonly string[] = ['red', 'green', 'blue', 'yellow', 'magenta', 'cyan', 'white'];

/** RGB of each colour attribute. Saturated, so they stand out from the muted backgrounds. */
export const PALETTE: readonly (readonly [number, number, number])[] = [
  [225, 35, 35],
  [35, 190, 55],
  [45, 80, 235],
  [240, 220, 35],
  [220, 45, 220],
  [35, 215, 215],
  [245, 245, 245],
];

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

export function checkInt(name: string, v: number, lo: number, hi = Number.MAX_SAFE_INTEGER): void {
  if (!(Number.isInteger(v) && v >= lo && v <= hi)) {
    throw new Error(`${name} must be an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? '∞' : hi}]; got ${v}`);
  }
}

/** `defaults` with the options of `opts` that are set (undefined ones keep the default; unknown keys are ignored). */
export function withDefaults<T extends object>(defaults: Required<T>, opts: T): Required<T> {
  const o: Required<T> = { ...defaults };
  for (const k of Object.keys(defaults) as (keyof T)[]) {
    const v = opts[k];
    if (v !== undefined) o[k] = v as Required<T>[keyof T];
  }
  return o;
}

/** The generators' three splits and their sizes, in order. */
export function standardSplits(o: { train: number; val: number; test: number }): [string, number][] {
  return [
    ['train', o.train],
    ['val', o.val],
    ['test', o.test],
  ];
}

// ---------------------------------------------------------------------------
// Generated instance images
// ---------------------------------------------------------------------------

/** One labelled object of a generated image. */
export interface InstanceObject {
  cls: number;
  /** Colour attribute index (into the palette / attribute names). */
  color: number;
  /** Identity (shapes: template index; fashion: source item index). */
  identity: number;
  /** xyxy pixel edges, integers: the whole object's extent (occluded parts included), clipped to the image. */
  box: [number, number, number, number];
  /** Visible (unoccluded, in-image) pixels: the mask's area. */
  area: number;
  /** Pixels of the whole object, occluded and out-of-image parts included. */
  fullArea: number;
  /** Visible-pixel mask, row-major RLE over the whole image (`decodeRle`). */
  rle: number[];
}

/** A generated image with its labels, objects in paint order (back to front). */
export interface InstanceImage {
  image: RgbImage;
  objects: InstanceObject[];
  /** Objects painted but left unlabelled (visible area under `minVisible`). */
  dropped: number;
}

/** An object as a generator painted it, before labelling: its extent in the image (null: none of it is) and its full area. */
export interface PaintedObject {
  cls: number;
  color: number;
  identity: number;
  box: [number, number, number, number] | null;
  fullArea: number;
}

/**
 * Turns an owner map (pixel → object index in paint order, −1 for background)
 * into labelled objects: keeps those whose visible area is at least
 * `minVisible` of their full area, with RLE masks.
 */
export function labelObjects(
  owner: Int16Array,
  width: number,
  height: number,
  painted: readonly PaintedObject[],
  minVisible: number,
): { objects: InstanceObject[]; dropped: number } {
  const visible = new Int32Array(painted.length);
  for (let i = 0; i < owner.length; i++) {
    const o = owner[i]!;
    if (o >= 0) visible[o]!++;
  }
  const objects: InstanceObject[] = [];
  let dropped = 0;
  painted.forEach((p, k) => {
    const area = visible[k]!;
    if (!p.box || area === 0 || area < minVisible * p.fullArea) {
      dropped++;
      return;
    }
    objects.push({
      cls: p.cls,
      color: p.color,
      identity: p.identity,
      box: p.box,
      area,
      fullArea: p.fullArea,
      rle: encodeOwnerRle(owner, k, p.box, width, height),
    });
  });
  return { objects, dropped };
}

// ---------------------------------------------------------------------------
// Records and samples
// ---------------------------------------------------------------------------

/** An image record of a generated dataset: the detection record plus masks and attributes. */
export interface InstanceImageRecord extends ImageRecord {
  /** Colour attribute per annotation. */
  colors: number[];
  /** Visible-pixel mask per annotation (row-major RLE, `decodeRle`). */
  rle: number[][];
  /** Visible pixels per annotation. */
  areas: number[];
  /** Objects painted but not labelled (too occluded). */
  dropped: number;
  /** Label-space sizes: multi-hot labels are classes then attributes. */
  numClasses: number;
  numAttributes: number;
}

/** Image-level multi-hot targets: [classes present…, colours present…]. */
export function multiHot(cls: ArrayLike<number>, colors: ArrayLike<number>, numClasses: number, numAttributes: number): Float32Array {
  const labels = new Float32Array(numClasses + numAttributes);
  for (let i = 0; i < cls.length; i++) labels[cls[i]!] = 1;
  for (let i = 0; i < colors.length; i++) labels[numClasses + colors[i]!] = 1;
  return labels;
}

/** A Sample from an in-memory generated image (no decoding). */
export function instanceImageToSample(img: InstanceImage, numClasses: number, numAttributes: number, file = ''): Sample {
  const { width: W, height: H } = img.image;
  const n = img.objects.length;
  const boxes = new Float32Array(n * 4);
  img.objects.forEach((o, i) => {
    boxes.set(o.box, i * 4);
  });
  return {
    image: img.image,
    boxes,
    cls: Int32Array.from(img.objects, (o) => o.cls),
    masks: img.objects.map((o) => decodeRle(o.rle, W, H)),
    identity: Int32Array.from(img.objects, (o) => o.identity),
    attrs: Int32Array.from(img.objects, (o) => o.color),
    labels: multiHot(
      img.objects.map((o) => o.cls),
      img.objects.map((o) => o.color),
      numClasses,
      numAttributes,
    ),
    file,
  };
}

/** Decoded per-instance masks (HW, 0/1) of a record, aligned with its annotations. */
export function recordMasks(record: InstanceImageRecord): Uint8Array[] {
  return record.rle.map((r) => decodeRle(r, record.width, record.height));
}

/** Multi-hot image labels of a record: classes then colour attributes. */
export function recordLabels(record: InstanceImageRecord): Float32Array {
  return multiHot(
    record.annotations.map((a) => a.cls),
    record.colors,
    record.numClasses,
    record.numAttributes,
  );
}

/**
 * Loads one record of a generated dataset (shapes or fashion) as a Sample:
 * the image decoded, boxes, classes, masks, identities, colour attributes
 * (`attrs`) and multi-hot labels over classes + colours. The data loader reads
 * such records through `recordToSample` (../sample-source.ts), which calls this.
 */
export async function loadInstanceSample(record: InstanceImageRecord): Promise<Sample> {
  const image = await decodeImage(record.file);
  if (image.width !== record.width || image.height !== record.height) {
    throw new Error(`${record.file}: image is ${image.width}×${image.height}, the labels say ${record.width}×${record.height}`);
  }
  const n = record.annotations.length;
  const boxes = new Float32Array(n * 4);
  record.annotations.forEach((a, i) => {
    boxes.set(a.box, i * 4);
  });
  return {
    image,
    boxes,
    cls: Int32Array.from(record.annotations, (a) => a.cls),
    masks: recordMasks(record),
    identity: Int32Array.from(record.annotations, (a) => a.identity ?? -1),
    attrs: Int32Array.from(record.colors),
    labels: recordLabels(record),
    file: record.file,
  };
}
