/**
 * Data-loader worker: decodes and augments the samples of one batch off the main
 * thread and sends the pixels back as transferable buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../util/rng.js';
import { type AugmentHyp, evalTransform, trainTransform } from './augment/pipeline.js';
import { isInstanceRecord, recordToSample } from './sample-source.js';
import type { ImageRecord, Sample } from './types.js';

export interface WorkerInit {
  records: ImageRecord[];
  imgsz: number;
  train: boolean;
  hyp: Partial<AugmentHyp>;
  cacheImages: boolean;
  /**
   * Also deliver the labels of the other tasks (image labels, semantic maps,
   * identities). Default false: detection only, no masks decoded.
   */
  extras?: boolean;
  /**
   * Number of detection classes, for the image-level labels of records that do
   * not carry it (VOC / COCO / YOLO; generated datasets' records do).
   */
  numClasses?: number;
}

export interface WorkerRequest {
  id: number;
  indices: number[];
  seeds: number[];
}

export interface EncodedSample {
  pixels: Uint8Array;
  width: number;
  height: number;
  boxes: Float32Array;
  cls: Int32Array;
  file: string;
  dropped: number;
  original?: Sample['original'];
  /** extras: image-level multi-hot [classes…, attributes…] of the instances that survived augmentation. */
  labels?: Float32Array;
  /** extras, samples with masks: H×W class map (0 background, c + 1 where an instance of class c is). */
  semantic?: Uint8Array;
  /** extras: identity per box (−1 unknown). */
  identity?: Int32Array;
}

/**
 * Image-level multi-hot targets of a sample's instances: [classes present…,
 * attributes present…] (length numClasses + numAttributes); attributes < 0
 * (unknown) are ignored.
 */
export function instanceLabels(sample: Pick<Sample, 'cls' | 'attrs' | 'file'>, numClasses: number, numAttributes: number): Float32Array {
  const labels = new Float32Array(numClasses + numAttributes);
  for (let i = 0; i < sample.cls.length; i++) {
    const c = sample.cls[i]!;
    if (!(c >= 0 && c < numClasses)) throw new Error(`${sample.file}: class ${c} outside 0…${numClasses - 1}`);
    labels[c] = 1;
  }
  if (sample.attrs && numAttributes > 0) {
    for (let i = 0; i < sample.attrs.length; i++) {
      const a = sample.attrs[i]!;
      if (a < 0) continue;
      if (a >= numAttributes) throw new Error(`${sample.file}: attribute ${a} outside 0…${numAttributes - 1}`);
      labels[numClasses + a] = 1;
    }
  }
  return labels;
}

/**
 * Semantic class map of a sample with masks: 0 background, c + 1 where the
 * mask of an instance of class c covers the pixel (later instances win where
 * masks overlap).
 */
export function semanticMap(sample: Pick<Sample, 'cls' | 'masks' | 'image' | 'file'>): Uint8Array {
  const { width: w, height: h } = sample.image;
  const out = new Uint8Array(w * h);
  const masks = sample.masks ?? [];
  for (let i = 0; i < masks.length; i++) {
    const m = masks[i]!;
    const c = sample.cls[i]!;
    if (m.length !== w * h) throw new Error(`${sample.file}: mask has ${m.length} pixels; expected ${w}×${h}`);
    if (!(c >= 0 && c < 255)) throw new Error(`${sample.file}: class ${c} does not fit a semantic map (0…254)`);
    const v = c + 1;
    for (let p = 0; p < m.length; p++) if (m[p]) out[p] = v;
  }
  return out;
}

export function makeSampleLoader(init: WorkerInit): (index: number, seed: number) => Promise<EncodedSample> {
  const extras = init.extras ?? false;
  const cache = new Map<number, Sample>();
  const getSample = async (i: number): Promise<Sample> => {
    const hit = cache.get(i);
    if (hit) return hit;
    const s = await recordToSample(init.records[i]!, { instances: extras });
    if (init.cacheImages) cache.set(i, s);
    return s;
  };
  return async (index, seed) => {
    let sample: Sample;
    let dropped = 0;
    if (init.train) {
      const r = await trainTransform(getSample, index, new Rng(seed), { imgsz: init.imgsz, count: init.records.length, ...init.hyp });
      sample = r.sample;
      dropped = r.dropped;
    } else {
      sample = evalTransform(await getSample(index), init.imgsz);
    }
    const out: EncodedSample = {
      pixels: sample.image.data,
      width: sample.image.width,
      height: sample.image.height,
      boxes: sample.boxes,
      cls: sample.cls,
      file: sample.file,
      dropped,
    };
    if (sample.original) out.original = sample.original;
    if (extras) {
      // Image labels from the instances that survived (a mosaic's crop removes some).
      const record = init.records[index]!;
      const numClasses = isInstanceRecord(record) ? record.numClasses : init.numClasses;
      const numAttributes = isInstanceRecord(record) ? record.numAttributes : 0;
      if (numClasses !== undefined) out.labels = instanceLabels(sample, numClasses, numAttributes);
      if (sample.masks) out.semantic = semanticMap(sample);
      // A copy: the sample's array may be shared with the decode cache, and it is transferred.
      out.identity = sample.identity ? sample.identity.slice() : new Int32Array(sample.cls.length).fill(-1);
    }
    return out;
  };
}

if (parentPort && workerData) {
  const load = makeSampleLoader(workerData as WorkerInit);
  const port = parentPort;
  port.on('message', (req: WorkerRequest) => {
    Promise.all(req.indices.map((idx, k) => load(idx, req.seeds[k]!)))
      .then((samples) => {
        // Copy pixels that share a cached buffer so that transferring never detaches the cache.
        const cacheImages = (workerData as WorkerInit).cacheImages;
        const transfer: ArrayBuffer[] = [];
        for (const s of samples) {
          if (s.pixels.byteOffset !== 0 || s.pixels.byteLength !== s.pixels.buffer.byteLength) s.pixels = s.pixels.slice();
          if (!cacheImages) transfer.push(s.pixels.buffer as ArrayBuffer);
          // Made fresh for this message (never cached): always transferable.
          for (const a of [s.labels, s.semantic, s.identity]) if (a) transfer.push(a.buffer as ArrayBuffer);
        }
        port.postMessage({ id: req.id, samples }, transfer);
      })
      .catch((err: Error) => port.postMessage({ id: req.id, error: err.message }));
  });
}
