/**
 * Data-loader worker: decodes and augments the samples of one batch off the main
 * thread and sends the pixels back as transferable buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../util/rng.js';
import { evalTransform, trainTransform, type AugmentHyp } from './augment/pipeline.js';
import { recordToSample } from './sample-source.js';
import type { ImageRecord, Sample } from './types.js';

export interface WorkerInit {
  records: ImageRecord[];
  imgsz: number;
  train: boolean;
  hyp: Partial<AugmentHyp>;
  cacheImages: boolean;
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
}

export function makeSampleLoader(init: WorkerInit): (index: number, seed: number) => Promise<EncodedSample> {
  const cache = new Map<number, Sample>();
  const getSample = async (i: number): Promise<Sample> => {
    const hit = cache.get(i);
    if (hit) return hit;
    const s = await recordToSample(init.records[i]!);
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
      pixels: sample.image.data, width: sample.image.width, height: sample.image.height,
      boxes: sample.boxes, cls: sample.cls, file: sample.file, dropped,
    };
    if (sample.original) out.original = sample.original;
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
        const transfer = samples.map((s) => {
          if (s.pixels.byteOffset !== 0 || s.pixels.byteLength !== s.pixels.buffer.byteLength) s.pixels = s.pixels.slice();
          return s.pixels.buffer as ArrayBuffer;
        });
        port.postMessage({ id: req.id, samples }, (workerData as WorkerInit).cacheImages ? [] : transfer);
      })
      .catch((err: Error) => port.postMessage({ id: req.id, error: err.message }));
  });
}
