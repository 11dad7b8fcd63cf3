/**
 * npm run bench:batchnorm — the forward pass of training batch norm on the wasm
 * backend, two ways, over the batch-norm layers of a yolor-n training step
 * (their output shapes at --imgsz, batch --batch):
 *   primitive  x̂ = (x − μ)·rstd, y = x̂·γ + β with element-wise kernels (what
 *              batchNormTrain in src/engine/fused-ops.ts does: x̂ is kept for the
 *              backward pass);
 *   fused      x̂ and y each from tfjs's FusedBatchNorm kernel (tf.batchNorm),
 *              one pass each — fewer memory passes on paper.
 * Prints the time of one step's worth of calls for each (best of --rounds) and
 * the ratio fused / primitive: above 1 means tfjs-wasm's FusedBatchNorm kernel
 * is slower than the primitive ops it would replace, which is why the training
 * path does not use it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend.js';
import { Detector } from '../src/models/detector.js';
import { summarizeModel } from '../src/models/summary.js';
import { resolveModelConfig } from '../src/models/zoo.js';
import { Rng } from '../src/util/rng.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Output shapes [B, H, W, C] of the batch-normalised layers of `model` at `imgsz`. */
function batchNormShapes(model: string, imgsz: number, batch: number): Array<[number, number, number, number]> {
  const m = new Detector(resolveModelConfig(model));
  try {
    return summarizeModel(m, imgsz)
      .layers.filter((l) => l.type === 'Conv' || l.type === 'BN')
      .map((l) => [batch, l.outputShape[1]!, l.outputShape[2]!, l.outputShape[3]!]);
  } finally {
    m.dispose();
  }
}

async function main(): Promise<void> {
  const imgsz = arg('imgsz', 320);
  const batch = arg('batch', 4);
  const rounds = arg('rounds', 5);
  const backend = await initBackend('wasm');
  const shapes = batchNormShapes('yolor-n', imgsz, batch);
  const rng = new Rng(1);
  const eps = 1e-3;
  const layers = shapes.map((s) => {
    const c = s[3];
    const x = tf.tensor4d(
      rng.normalArray(
        s.reduce((a, b) => a * b, 1),
        1,
      ),
      s,
    );
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return {
      x,
      mean,
      variance,
      rstd: tf.rsqrt(tf.add(variance, eps)),
      gamma: tf.tensor1d(rng.normalArray(c, 1)),
      beta: tf.tensor1d(rng.normalArray(c, 1)),
    };
  });
  const primitive = (): void => {
    for (const l of layers) {
      const xhat = tf.mul(tf.sub(l.x, l.mean), l.rstd);
      const y = tf.add(tf.mul(xhat, l.gamma), l.beta);
      y.dataSync();
      tf.dispose([xhat, y]);
    }
  };
  const fused = (): void => {
    for (const l of layers) {
      const xhat = tf.batchNorm(l.x, l.mean, l.variance, undefined, undefined, eps);
      const y = tf.batchNorm(l.x, l.mean, l.variance, l.beta, l.gamma, eps);
      y.dataSync();
      tf.dispose([xhat, y]);
    }
  };
  const time = (fn: () => void): number => {
    fn();
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < rounds; r++) {
      const t = performance.now();
      fn();
      best = Math.min(best, performance.now() - t);
    }
    return best;
  };
  // Interleave so that both see the same machine state.
  const p1 = time(primitive);
  const f1 = time(fused);
  const p2 = time(primitive);
  const f2 = time(fused);
  const p = Math.min(p1, p2);
  const f = Math.min(f1, f2);
  const elements = shapes.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);
  console.log(
    `backend ${backend.name}; yolor-n at ${imgsz} px, batch ${batch}: ${shapes.length} batch-norm layers, ${(elements / 1e6).toFixed(1)} M activations`,
  );
  console.log(`forward (x̂ and y) of all of them, best of ${rounds}:`);
  console.log(`  primitive ops (batchNormTrain)  ${p.toFixed(1)} ms`);
  console.log(`  FusedBatchNorm kernel × 2        ${f.toFixed(1)} ms`);
  console.log(`  ratio fused / primitive          ${(f / p).toFixed(2)}`);
  for (const l of layers) tf.dispose([l.x, l.mean, l.variance, l.rstd, l.gamma, l.beta]);
}

await main();
