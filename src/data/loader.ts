/**
 * The data loader: shuffled, seeded batches; decoding and augmentation in
 * worker threads with batches prefetched ahead so that the training step does
 * not wait on data when the model is the bottleneck. Every sample's randomness
 * comes from a seed drawn on the main thread, so a run is reproducible whatever
 * the number of workers.
 */
import { Worker } from 'node:worker_threads';
import { Rng } from '../util/rng.js';
import type { AugmentHyp } from './augment/pipeline.js';
import { type EncodedSample, makeSampleLoader, type WorkerInit, type WorkerRequest } from './loader-worker.js';
import type { ImageRecord } from './types.js';

export interface LoaderOptions {
  records: ImageRecord[];
  imgsz: number;
  batchSize: number;
  train: boolean;
  shuffle?: boolean;
  seed?: number;
  hyp?: Partial<AugmentHyp>;
  /** Worker threads (0 = decode on the main thread). */
  workers?: number;
  /** Batches requested ahead of the consumer. */
  prefetch?: number;
  /** Keep decoded images in memory (per worker). */
  cache?: boolean;
  /**
   * Also deliver the labels of the other tasks: image-level multi-hot labels,
   * semantic class maps (samples with masks) and per-box identities (see
   * `Batch`). Default false: detection only, no masks decoded.
   */
  extras?: boolean;
  /**
   * Number of detection classes, for the image-level labels of datasets whose
   * records do not say (VOC / COCO / YOLO); generated datasets' records carry
   * theirs (and their attribute count). Without either, no labels.
   */
  numClasses?: number;
}

export interface Batch {
  /** [B, S, S, 3] floats in [0, 1]. */
  images: Float32Array;
  shape: [number, number, number, number];
  /** Rows [imageIndex, cls, cx, cy, w, h] in input pixels. */
  targets: Float32Array;
  files: string[];
  originals: Array<EncodedSample['original']>;
  /** Records' indices in the dataset. */
  indices: number[];
  /** Boxes removed by augmentation in this batch. */
  dropped: number;
  /** extras: [B × L] image-level multi-hot labels (L = classes + attributes) of the instances left after augmentation. */
  labels?: Float32Array;
  /** extras, datasets with masks: [B × H × W] class maps, 0 background, c + 1 for class c. */
  semantic?: Uint8Array;
  /** extras: identity per row of `targets` (−1 unknown). */
  identity?: Int32Array;
}

/** Whether every sample has `key` (true) or none (false); throws naming a sample without it when they are mixed. */
function allOrNone(samples: readonly EncodedSample[], key: 'labels' | 'semantic' | 'identity'): boolean {
  const without = samples.find((s) => s[key] === undefined);
  if (!without) return true;
  const withIt = samples.find((s) => s[key] !== undefined);
  if (withIt) throw new Error(`batch mixes samples with and without ${key}: ${without.file} has none, ${withIt.file} has`);
  return false;
}

export function collate(samples: EncodedSample[], indices: number[]): Batch {
  const b = samples.length;
  const h = samples[0]!.height;
  const w = samples[0]!.width;
  const images = new Float32Array(b * h * w * 3);
  const rows: number[] = [];
  let dropped = 0;
  const hasLabels = allOrNone(samples, 'labels');
  const hasSemantic = allOrNone(samples, 'semantic');
  const hasIdentity = allOrNone(samples, 'identity');
  const L = hasLabels ? samples[0]!.labels!.length : 0;
  const labels = hasLabels ? new Float32Array(b * L) : undefined;
  const semantic = hasSemantic ? new Uint8Array(b * h * w) : undefined;
  const ids: number[] = [];
  samples.forEach((s, i) => {
    if (s.width !== w || s.height !== h) throw new Error(`batch mixes image sizes: ${s.file} is ${s.width}x${s.height}, expected ${w}x${h}`);
    const off = i * h * w * 3;
    for (let k = 0; k < s.pixels.length; k++) images[off + k] = s.pixels[k]! / 255;
    for (let j = 0; j < s.cls.length; j++) {
      const [x1, y1, x2, y2] = [s.boxes[4 * j]!, s.boxes[4 * j + 1]!, s.boxes[4 * j + 2]!, s.boxes[4 * j + 3]!];
      rows.push(i, s.cls[j]!, (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1);
    }
    if (labels) {
      if (s.labels!.length !== L) throw new Error(`batch mixes label lengths: ${s.file} has ${s.labels!.length}, expected ${L}`);
      labels.set(s.labels!, i * L);
    }
    if (semantic) {
      if (s.semantic!.length !== h * w) throw new Error(`${s.file}: semantic map has ${s.semantic!.length} pixels; expected ${w}x${h}`);
      semantic.set(s.semantic!, i * h * w);
    }
    if (hasIdentity) {
      if (s.identity!.length !== s.cls.length) throw new Error(`${s.file}: ${s.identity!.length} identities but ${s.cls.length} boxes`);
      for (let j = 0; j < s.identity!.length; j++) ids.push(s.identity![j]!);
    }
    dropped += s.dropped;
  });
  const batch: Batch = {
    images,
    shape: [b, h, w, 3],
    targets: Float32Array.from(rows),
    files: samples.map((s) => s.file),
    originals: samples.map((s) => s.original),
    indices,
    dropped,
  };
  if (labels) batch.labels = labels;
  if (semantic) batch.semantic = semantic;
  if (hasIdentity) batch.identity = Int32Array.from(ids);
  return batch;
}

/** Image i of a batch back as 8-bit RGB with its boxes (xyxy) and classes, for drawing. */
export function batchItem(
  batch: Batch,
  i: number,
): { image: { data: Uint8Array; width: number; height: number }; boxes: number[]; cls: number[]; file: string } {
  const [, h, w] = batch.shape;
  const data = new Uint8Array(h * w * 3);
  const off = i * h * w * 3;
  for (let k = 0; k < data.length; k++) data[k] = Math.round(batch.images[off + k]! * 255);
  const boxes: number[] = [];
  const cls: number[] = [];
  const t = batch.targets;
  for (let r = 0; r < t.length; r += 6) {
    if (t[r] !== i) continue;
    const [cx, cy, bw, bh] = [t[r + 2]!, t[r + 3]!, t[r + 4]!, t[r + 5]!];
    boxes.push(cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2);
    cls.push(t[r + 1]!);
  }
  return { image: { data, width: w, height: h }, boxes, cls, file: batch.files[i]! };
}

type Pending = { resolve: (s: EncodedSample[]) => void; reject: (e: Error) => void };

export class DataLoader {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly local: ((index: number, seed: number) => Promise<EncodedSample>) | null;
  private nextId = 0;
  private failure: Error | null = null;

  constructor(readonly opts: LoaderOptions) {
    if (opts.records.length === 0) throw new Error('data loader: the dataset split has no images');
    const init: WorkerInit = {
      records: opts.records,
      imgsz: opts.imgsz,
      train: opts.train,
      hyp: opts.hyp ?? {},
      cacheImages: opts.cache ?? false,
      extras: opts.extras ?? false,
    };
    if (opts.numClasses !== undefined) {
      if (!(Number.isInteger(opts.numClasses) && opts.numClasses > 0))
        throw new Error(`data loader: numClasses must be a positive integer; got ${opts.numClasses}`);
      init.numClasses = opts.numClasses;
    }
    const n = opts.workers ?? 0;
    this.local = n === 0 ? makeSampleLoader(init) : null;
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL('./loader-worker.js', import.meta.url), { workerData: init });
      w.on('message', (msg: { id: number; samples?: EncodedSample[]; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(msg.error));
        else p.resolve(msg.samples!);
      });
      w.on('error', (err) => this.fail(new Error(`data loader worker failed: ${err.message}`)));
      w.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`data loader worker exited with code ${code}`));
      });

      this.workers.push(w);
    }
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.opts.records.length / this.opts.batchSize);
  }

  private request(indices: number[], seeds: number[]): Promise<EncodedSample[]> {
    if (this.local) {
      // On the main thread: start the work on a later turn of the event loop, so that a
      // prefetched batch is prepared while the consumer awaits (e.g. data-parallel
      // replicas computing the current step), not before the consumer gets control back.
      const local = this.local;
      return new Promise<void>((r) => setImmediate(r)).then(() => Promise.all(indices.map((i, k) => local(i, seeds[k]!))));
    }
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const worker = this.workers[id % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const req: WorkerRequest = { id, indices, seeds };
      worker.postMessage(req);
    });
  }

  /** The batches of one epoch, in order; the epoch's order and augmentation depend only on (seed, epoch). */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    const { records, batchSize } = this.opts;
    const rng = new Rng(((this.opts.seed ?? 0) * 1000003 + epoch * 7919) >>> 0);
    const order = records.map((_, i) => i);
    if (this.opts.shuffle ?? this.opts.train) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    const plan: Array<{ indices: number[]; seeds: number[] }> = [];
    for (let s = 0; s < order.length; s += batchSize) {
      const indices = order.slice(s, s + batchSize);
      plan.push({ indices, seeds: indices.map(() => Math.floor(rng.next() * 2 ** 31)) });
    }
    const ahead = Math.max(1, this.opts.prefetch ?? Math.max(2, this.workers.length * 2));
    const inflight: Array<Promise<EncodedSample[]>> = [];
    let next = 0;
    const launch = (): void => {
      const p = this.request(plan[next]!.indices, plan[next]!.seeds);
      p.catch(() => undefined); // surfaced when awaited in order; never an unhandled rejection
      inflight.push(p);
      next++;
    };
    while (next < plan.length && inflight.length < ahead) launch();
    for (let b = 0; b < plan.length; b++) {
      const samples = await inflight.shift()!;
      if (next < plan.length) launch();
      yield collate(samples, plan[b]!.indices);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
