/**
 * npm run bench:data — decode + training augmentation throughput (images/s) on
 * BCCD at 416 with 0, 1 and 2 loader workers, against the images/s of a yolor-n
 * training step at the same size (batch 4: batch 8 at 416 exceeds the wasm heap), measured in the same run. The loader keeps
 * the model busy when its rate exceeds the step's.
 */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { readVoc } from '../src/data/formats/voc/read.js';
import { DataLoader } from '../src/data/loader.js';
import { initBackend } from '../src/engine/backend.js';
import { Detector } from '../src/models/detector.js';
import { resolveModelConfig } from '../src/models/zoo.js';
import { buildTargets, gridsOfMaps } from '../src/tasks/detect/assign.js';
import { detectionLoss } from '../src/tasks/detect/loss.js';

const BCCD = resolve(fileURLToPath(new URL('../../../shared/data/bccd', import.meta.url)));

async function loaderRate(records: ReturnType<typeof readVoc>['splits'][string], workers: number, imgsz: number, n: number): Promise<number> {
  const loader = new DataLoader({ records, imgsz, batchSize: 8, train: true, seed: 0, workers });
  let seen = 0;
  const t = performance.now();
  for await (const b of loader.epoch(0)) {
    seen += b.shape[0];
    if (seen >= n) break;
  }
  const rate = seen / ((performance.now() - t) / 1000);
  await loader.close();
  return rate;
}

async function main(): Promise<void> {
  if (!existsSync(BCCD)) {
    console.log(`BCCD not found at ${BCCD}: nothing to measure`);
    return;
  }
  const imgsz = 416;
  const quick = process.argv.includes('--quick');
  const n = quick ? 32 : 96;
  const records = readVoc(BCCD).splits.train!;
  const rates: Record<string, number> = {};
  for (const w of [0, 1, 2]) rates[`${w} workers`] = await loaderRate(records, w, imgsz, n);
  await initBackend('wasm');
  const cfg = resolveModelConfig('yolor-n');
  const model = new Detector({ ...cfg, nc: 3 } as typeof cfg);
  const loader = new DataLoader({ records, imgsz, batchSize: 4, train: true, seed: 0, workers: 0 });
  const vars = model
    .parameters()
    .filter((p) => p.group !== 'buffer')
    .map((p) => p.variable);
  let steps = 0;
  let images = 0;
  let t = 0;
  for await (const b of loader.epoch(0)) {
    const s = performance.now();
    const { value, grads } = tf.variableGrads(() => {
      const maps = model.forward(tf.tensor4d(b.images, b.shape));
      const a = buildTargets(b.targets, { anchors: cfg.anchors, strides: model.strides, grids: gridsOfMaps(maps), batchSize: b.shape[0], nc: 3 });
      return detectionLoss(maps, a, cfg.anchors, model.strides, 3).total;
    }, vars);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
    if (steps > 0) {
      t += performance.now() - s;
      images += b.shape[0];
    }
    if (++steps >= (quick ? 2 : 4)) break;
  }
  await loader.close();
  const step = images / (t / 1000);
  console.log(`BCCD at ${imgsz} (mosaic + affine + HSV + flip); loader batch 8, training step batch 4\n`);
  for (const [k, v] of Object.entries(rates))
    console.log(`  loader, ${k.padEnd(10)} ${v.toFixed(1).padStart(7)} img/s   ${(v / step).toFixed(1)}× the training step`);
  console.log(`  yolor-n training step  ${step.toFixed(1).padStart(7)} img/s (wasm)`);
}

await main();
