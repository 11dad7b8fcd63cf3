/**
 * `yolor predict` as a library call: weights (a checkpoint, an exported ONNX or
 * TF.js model) run on images — a file or folder, or a dataset split — writing
 * into `out` each image with its boxes drawn, optionally YOLO label files and a
 * COCO results JSON (with the dataset's own ids when the images come from a COCO
 * dataset), and for a multi-task checkpoint every predicting task's output
 * (tasks.json and the files the tasks write, e.g. a class-map PNG).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { decodeImage } from '../data/image-io.js';
import { loadDetectionDatasetAsync } from '../data/resolve.js';
import type { CocoDet } from '../eval/coco.js';
import { loadRunner } from '../export/runner-loaders.js';
import { runnerImageSize } from '../infer/runner.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { drawBoxesPng } from '../plot/draw-boxes.js';
import { defaultReplicas, ReplicaPool } from './parallel/replica-pool.js';
import { listImages, predictImages } from './predict.js';
import { datasetInput, fileResultIds, type PredictInput, sourceInDataset } from './predict-source.js';
import { hasTaskPredictions, predictTasks } from './predict-tasks.js';

export interface PredictWeightsOptions {
  /** An image file or a folder of images. */
  source?: string;
  /** A dataset (its `split`'s images, or with `source` the ids of the folder's images). */
  data?: string;
  split?: string;
  /** Output folder (created). */
  out: string;
  imgsz?: number;
  conf: number;
  iou: number;
  maxDet: number;
  saveTxt: boolean;
  saveJson: boolean;
  /** Replicas for a checkpoint (default: the number of cores). */
  workers?: number;
  /** Where per-image lines, notes and warnings go (default: nowhere). */
  log?: (line: string) => void;
}

export interface PredictWeightsResult {
  out: string;
  engine: string;
  images: number;
  detections: number;
}

export async function predictWeights(weights: string, opts: PredictWeightsOptions): Promise<PredictWeightsResult> {
  const log = opts.log ?? ((): void => undefined);
  if (!opts.source && !opts.data) throw new Error('predict: give images (source) or a dataset (data)');
  const sourceFiles = opts.source ? listImages(opts.source) : [];
  let input: PredictInput = { files: sourceFiles, ids: fileResultIds, notes: [] };
  let classes: number | null = null;
  if (opts.data) {
    // With a source, a COCO JSON's file_name entries are relative to that folder (or to the image file's).
    const imageDir = opts.source ? (statSync(resolve(opts.source)).isDirectory() ? opts.source : dirname(opts.source)) : undefined;
    const ds = await loadDetectionDatasetAsync(opts.data, imageDir ? { imageDir } : {});
    input = opts.source ? sourceInDataset(sourceFiles, ds, opts.source, opts.split) : datasetInput(ds, opts.split ?? 'val');
    classes = ds.names.length;
  }
  const files = input.files;
  const loaded = await loadRunner(weights);
  let pool: ReplicaPool | null = null;
  let detections = 0;
  try {
    const names = loaded.names;
    if (classes !== null && classes !== loaded.nc) throw new Error(`${weights}: the model has ${loaded.nc} classes but ${opts.data} has ${classes}`);
    for (const n of input.notes) log(`note: ${n}`);
    const replicas = Math.min(opts.workers ?? defaultReplicas(Number.MAX_SAFE_INTEGER), files.length);
    let runner = loaded;
    if (loaded.detector && replicas > 1) {
      pool = await ReplicaPool.start(loaded.detector, { replicas });
      runner = { ...pool.runner(loaded.detector, loaded.names), imgsz: loaded.imgsz };
    }
    const p = { imgsz: runnerImageSize(loaded, opts.imgsz, log), conf: opts.conf, iou: opts.iou, maxDet: opts.maxDet };
    const json: CocoDet[] = [];
    const step = pool ? pool.replicas : 1;
    // A multi-task checkpoint: its other tasks predict too (labels, a class map, embeddings, counts…).
    const model = loaded.detector;
    const multi = !!model && hasTaskPredictions(model);
    const detects = !model || !!model.head;
    const taskJson: Array<Record<string, unknown>> = [];
    const attributes = multi
      ? ((JSON.parse(readFileSync(join(weights, 'model.json'), 'utf8')) as { userDefinedMetadata?: { attributes?: string[] } }).userDefinedMetadata
          ?.attributes ?? [])
      : [];
    const labelNames = [...names, ...attributes];
    for (let s = 0; s < files.length; s += step) {
      const t = performance.now();
      const chunk = files.slice(s, s + step);
      const preds = detects
        ? await predictImages(runner, chunk, { ...p, batch: step })
        : await Promise.all(chunk.map(async (file) => ({ file, image: await decodeImage(file), detections: [] })));
      for (const pred of preds) {
        const file = pred.file;
        const stem = basename(file, extname(file));
        if (multi) {
          const parts = predictTasks(model!, pred.image, { imgsz: p.imgsz, labelNames, detections: pred.detections, stem });
          const entry: Record<string, unknown> = { image: basename(file) };
          for (const part of Object.values(parts)) {
            Object.assign(entry, part!.json ?? {});
            for (const [name, bytes] of Object.entries(part!.files ?? {})) await writeFileAtomic(join(opts.out, name), bytes);
            if (part!.line) log(`${basename(file)}: ${part!.line}`);
          }
          taskJson.push(entry);
        }
        if (!detects) continue;
        const d = pred.detections;
        detections += d.length;
        await writeFileAtomic(
          join(opts.out, `${stem}.png`),
          drawBoxesPng(pred.image, { boxes: d.flatMap((x) => x.box), cls: d.map((x) => x.cls), scores: d.map((x) => x.score) }, names),
        );
        if (opts.saveTxt) {
          const { width: w, height: h } = pred.image;
          const lines = d.map((x) =>
            [x.cls, (x.box[0] + x.box[2]) / 2 / w, (x.box[1] + x.box[3]) / 2 / h, (x.box[2] - x.box[0]) / w, (x.box[3] - x.box[1]) / h, x.score]
              .map((v, i) => (i === 0 ? String(v) : v.toFixed(6)))
              .join(' '),
          );
          await writeFileAtomic(join(opts.out, 'labels', `${stem}.txt`), lines.length ? `${lines.join('\n')}\n` : '');
        }
        const imageId = input.ids.imageId(file);
        for (const x of d) {
          json.push({
            image_id: imageId,
            category_id: input.ids.categoryId(x.cls),
            bbox: [x.box[0], x.box[1], x.box[2] - x.box[0], x.box[3] - x.box[1]],
            score: x.score,
          });
        }
        const counts = new Map<string, number>();
        for (const x of d) counts.set(names[x.cls] ?? String(x.cls), (counts.get(names[x.cls] ?? String(x.cls)) ?? 0) + 1);
        log(
          `${basename(file)}: ${[...counts].map(([n, c]) => `${c} ${n}`).join(', ') || 'no detections'} (${((performance.now() - t) / preds.length).toFixed(0)} ms)`,
        );
      }
    }
    if (opts.saveJson && detects) {
      await writeFileAtomic(join(opts.out, 'predictions.json'), JSON.stringify(json));
      log(
        `predictions.json: ${json.length} detections; ${
          input.ids.form === 'dataset' ? `image_id and category_id of ${opts.data}` : 'image_id = file stem, category_id = 0-based class index'
        }`,
      );
    }
    if (multi) await writeFileAtomic(join(opts.out, 'tasks.json'), `${JSON.stringify(taskJson, null, 1)}\n`);
    return { out: opts.out, engine: runner.engine, images: files.length, detections };
  } finally {
    await pool?.close();
    await loaded.dispose();
  }
}
