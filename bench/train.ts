/**
 * npm run bench:train — training throughput (images/s: forward + backward of
 * the detection loss + optimiser update + EMA) of the smallest and the middle
 * zoo model at 320 and 640 on the selected backend, on synthetic batches
 * (data loading is measured by bench:data). Best of a few steps after a warm-up.
 * Then data-parallel training (issue: use every core): the same global batch at
 * 320 with 1 worker and with N = the number of cores model replicas in worker
 * threads (gradients summed through shared memory, one optimiser update), and
 * the ratio, with the parts of such a step (the replicas' compute against the main
 * thread's serial publication, optimiser and EMA) and a replica's step time alone
 * and beside the others. Last, why that ratio is what it is on this machine: how in-cache
 * convolutions and memory-streaming element-wise ops scale on N engines
 * (bench/thread-scaling.ts), and the share of a step's kernel time outside the
 * convolutions. First of all, the engines side by side against PyTorch (compareEngines).
 * Options: --quick, --json, --batch N (default 4; the wasm heap limits batch × size),
 * --replicas N, --engines-only, --no-engines, --no-torch, --engines wasm,native (which engines to compare;
 * at batch 16 and 320 px the plain-wasm runs exhaust the wasm heap of one process).
 */

import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend.js';
import { loadNativeAddon } from '../src/engine/native/index.js';
import { Detector } from '../src/models/detector.js';
import { resolveModelConfig } from '../src/models/zoo.js';
import { buildTargets, gridsOfMaps } from '../src/tasks/detect/assign.js';
import { detectionLoss } from '../src/tasks/detect/loss.js';
import { ModelEma } from '../src/train/ema.js';
import { GroupedOptimizer } from '../src/train/optimizer.js';
import { ReplicaPool } from '../src/train/parallel/replica-pool.js';
import { Rng } from '../src/util/rng.js';
import { measureThreadScaling, type ScalingRow, STREAM_BYTES } from './thread-scaling.js';
import { torchReference } from './torch-reference.js';

interface Row {
  model: string;
  imgsz: number;
  batch: number;
  imagesPerSecond: number | null;
  note?: string;
}

/** The detection loss of a synthetic batch (the quantity every measured step differentiates). */
function detectionStepLoss(model: Detector, x: tf.Tensor4D, targets: Float32Array): tf.Scalar {
  const cfg = model.config;
  const maps = model.forward(x);
  const a = buildTargets(targets, { anchors: cfg.anchors, strides: model.strides, grids: gridsOfMaps(maps), batchSize: x.shape[0], nc: cfg.nc });
  return detectionLoss(maps, a, cfg.anchors, model.strides, cfg.nc).total;
}

function measure(name: string, imgsz: number, batch: number, steps: number): Row {
  const cfg = resolveModelConfig(name);
  const model = new Detector(cfg);
  const opt = new GroupedOptimizer(model, { name: 'sgd', lr: 0.01, momentum: 0.937, weightDecay: 5e-4 });
  const ema = new ModelEma(model);
  const { images, targets } = syntheticBatch(cfg.nc, imgsz, batch);
  const x = tf.tensor4d(images, [batch, imgsz, imgsz, 3]);
  let best = Number.POSITIVE_INFINITY;
  try {
    for (let s = 0; s <= steps; s++) {
      const t = performance.now();
      const { value, grads } = tf.variableGrads(() => detectionStepLoss(model, x, targets), opt.variables);
      value.dataSync();
      opt.apply(grads);
      ema.update();
      tf.dispose([value, ...Object.values(grads)]);
      if (s > 0) best = Math.min(best, performance.now() - t);
    }
    return { model: name, imgsz, batch, imagesPerSecond: batch / (best / 1000) };
  } catch (err) {
    return { model: name, imgsz, batch, imagesPerSecond: null, note: (err as Error).message.split('\n')[0] };
  } finally {
    tf.dispose(x);
    opt.dispose();
    ema.dispose();
    model.dispose();
  }
}

const CONV_KERNELS = new Set(['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']);

/**
 * The share of one training step's kernel time outside the convolutions (batch norm,
 * activations, reductions, element-wise arithmetic: work bounded by memory traffic).
 * tf.profile also lists each custom-gradient op's forward as a kernel named 'forward'
 * whose inner kernels are listed too: it is left out so that nothing counts twice.
 */
async function nonConvolutionShare(name: string, imgsz: number, batch: number): Promise<number> {
  const cfg = resolveModelConfig(name);
  const model = new Detector(cfg);
  const vars = model
    .parameters()
    .filter((p) => p.group !== 'buffer')
    .map((p) => p.variable);
  const { images, targets } = syntheticBatch(cfg.nc, imgsz, batch);
  const x = tf.tensor4d(images, [batch, imgsz, imgsz, 3]);
  const step = (): void => {
    const { value, grads } = tf.variableGrads(() => detectionStepLoss(model, x, targets), vars);
    tf.dispose([value, ...Object.values(grads)]);
  };
  try {
    step();
    const prof = await tf.profile(step);
    let conv = 0;
    let all = 0;
    for (const k of prof.kernels) {
      if (k.name === 'forward') continue;
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      all += ms;
      if (CONV_KERNELS.has(k.name)) conv += ms;
    }
    return all > 0 ? (all - conv) / all : Number.NaN;
  } finally {
    x.dispose();
    model.dispose();
  }
}

function syntheticBatch(nc: number, imgsz: number, batch: number): { images: Float32Array; targets: Float32Array } {
  const rng = new Rng(1);
  const rows: number[] = [];
  for (let i = 0; i < batch; i++) {
    for (let k = 0; k < 6; k++) rows.push(i, k % nc, imgsz * (0.2 + 0.1 * k), imgsz * (0.3 + 0.08 * k), imgsz * 0.1 + 4 * k, imgsz * 0.12);
  }
  return { images: rng.normalArray(batch * imgsz * imgsz * 3, 0.5), targets: Float32Array.from(rows) };
}

/** Milliseconds of each part of a data-parallel step (medians over the measured steps). */
interface StepPhases {
  publish: number;
  replicas: number;
  optimizer: number;
  ema: number;
  step: number;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : Number.NaN;
};

/**
 * Full training steps (gradients, optimiser, EMA, weight publication) with `replicas`
 * worker replicas: images/s of the best step, and the median time of each part — the
 * replicas' compute (with the gradient sum) against the serial work of the main thread.
 */
async function measureParallel(
  name: string,
  imgsz: number,
  batch: number,
  steps: number,
  replicas: number,
): Promise<{ imagesPerSecond: number; phases: StepPhases }> {
  const cfg = resolveModelConfig(name);
  const model = new Detector(cfg);
  const opt = new GroupedOptimizer(model, { name: 'sgd', lr: 0.01, momentum: 0.937, weightDecay: 5e-4 });
  const ema = new ModelEma(model);
  const pool = await ReplicaPool.start(model, { replicas });
  const { images, targets } = syntheticBatch(cfg.nc, imgsz, batch);
  let best = Number.POSITIVE_INFINITY;
  const times: Record<keyof StepPhases, number[]> = { publish: [], replicas: [], optimizer: [], ema: [], step: [] };
  try {
    for (let s = 0; s <= steps; s++) {
      const t0 = performance.now();
      pool.publish();
      const t1 = performance.now();
      const { grads } = await pool.step(images, [batch, imgsz, imgsz, 3], targets);
      const t2 = performance.now();
      opt.apply(grads);
      const t3 = performance.now();
      ema.update();
      tf.dispose(Object.values(grads));
      const t4 = performance.now();
      if (s === 0) continue;
      best = Math.min(best, t4 - t0);
      times.publish.push(t1 - t0);
      times.replicas.push(t2 - t1);
      times.optimizer.push(t3 - t2);
      times.ema.push(t4 - t3);
      times.step.push(t4 - t0);
    }
    const phases = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as unknown as StepPhases;
    return { imagesPerSecond: batch / (best / 1000), phases };
  } finally {
    await pool.close();
    opt.dispose();
    ema.dispose();
    model.dispose();
  }
}

/**
 * A replica's step alone and beside the others: the same per-replica batch run by a
 * pool of one replica, then by a pool of `replicas` (median step times). With no
 * contention for memory bandwidth the two would be equal.
 */
async function replicaBesideReplica(
  name: string,
  imgsz: number,
  perReplica: number,
  steps: number,
  replicas: number,
): Promise<{ aloneMs: number; besideMs: number }> {
  const cfg = resolveModelConfig(name);
  const model = new Detector(cfg);
  const time = async (n: number): Promise<number> => {
    const pool = await ReplicaPool.start(model, { replicas: n });
    const { images, targets } = syntheticBatch(cfg.nc, imgsz, perReplica * n);
    const ms: number[] = [];
    try {
      pool.publish();
      for (let s = 0; s <= steps; s++) {
        const t = performance.now();
        const { grads } = await pool.step(images, [perReplica * n, imgsz, imgsz, 3], targets);
        if (s > 0) ms.push(performance.now() - t);
        tf.dispose(Object.values(grads));
      }
      return median(ms);
    } finally {
      await pool.close();
    }
  };
  try {
    return { aloneMs: await time(1), besideMs: await time(replicas) };
  } finally {
    model.dispose();
  }
}

interface EngineRow {
  model: string;
  imgsz: number;
  batch: number;
  /** images/s by engine: 'wasm', 'wasm ×N', 'native', 'native ×N'. */
  engines: Record<string, number>;
  torch: number | null;
  torchNote?: string;
}

/**
 * The engines side by side on the same synthetic batches, in this process: plain wasm
 * and wasm with the native kernels, each as one engine and as N data-parallel replicas,
 * and PyTorch CPU (bench/torch-reference.py: the same architecture, generated from the
 * model) on the same number of threads, where python3 with torch is installed.
 */
async function compareEngines(
  models: string[],
  imgsz: number,
  batch: number,
  steps: number,
  replicas: number,
  withTorch: boolean,
  only: ReadonlyArray<'wasm' | 'native'> = ['wasm', 'native'],
): Promise<EngineRow[]> {
  const rows: EngineRow[] = [];
  const native = loadNativeAddon().addon !== null;
  for (const model of models) {
    const engines: Record<string, number> = {};
    for (const engine of only.filter((e) => e === 'wasm' || native)) {
      await initBackend(engine);
      engines[engine] = measure(model, imgsz, batch, steps).imagesPerSecond ?? Number.NaN;
      engines[`${engine} ×${replicas}`] = (await measureParallel(model, imgsz, batch, steps, replicas)).imagesPerSecond;
    }
    const row: EngineRow = { model, imgsz, batch, engines, torch: null };
    if (withTorch) {
      const t = await torchReference({ model, imgsz, batch, threads: availableParallelism(), steps: Math.max(steps, 5) });
      if ('skipped' in t) row.torchNote = t.skipped;
      else row.torch = t.imagesPerSecond;
    } else {
      row.torchNote = '--no-torch';
    }
    rows.push(row);
  }
  return rows;
}

function printEngines(rows: EngineRow[]): void {
  if (!rows.length) return;
  const keys = Object.keys(rows[0]!.engines);
  console.log(
    `training images/s by engine (${availableParallelism()} cores; synthetic batches; best of the measured steps), and against PyTorch CPU`,
  );
  console.log(`model     size  batch  ${keys.map((k) => k.padStart(10)).join('')}   PyTorch  best/PyTorch`);
  for (const r of rows) {
    const best = Math.max(...Object.values(r.engines).filter(Number.isFinite));
    const torch = r.torch === null ? '         -' : r.torch.toFixed(2).padStart(10);
    const ratio = r.torch === null ? `  (${r.torchNote})` : `${(best / r.torch).toFixed(2).padStart(12)}×`;
    console.log(
      `${r.model.padEnd(8)} ${String(r.imgsz).padStart(5)}  ${String(r.batch).padStart(5)}  ${keys.map((k) => r.engines[k]!.toFixed(2).padStart(10)).join('')}${torch}${ratio}`,
    );
  }
  console.log('');
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const json = process.argv.includes('--json');
  const bi = process.argv.indexOf('--batch');
  const batch = bi > 0 ? Number(process.argv[bi + 1]) : 4;
  const ri0 = process.argv.indexOf('--replicas');
  const engineReplicas = ri0 > 0 ? Number(process.argv[ri0 + 1]) : Math.max(2, availableParallelism());
  const ei = process.argv.indexOf('--engines');
  const only = (ei > 0 ? (process.argv[ei + 1] ?? '') : 'wasm,native')
    .split(',')
    .filter((e): e is 'wasm' | 'native' => e === 'wasm' || e === 'native');
  const engineRows = process.argv.includes('--no-engines')
    ? []
    : await compareEngines(['yolor-n', 'yolor-s'], 320, batch, quick ? 1 : 5, engineReplicas, !process.argv.includes('--no-torch'), only);
  if (!json) printEngines(engineRows);
  if (process.argv.includes('--engines-only')) {
    if (json) console.log(JSON.stringify({ engines: engineRows }, null, 2));
    return;
  }
  const backend = await initBackend('auto');
  const rows: Row[] = [];
  for (const model of ['yolor-n', 'yolor-s']) {
    for (const imgsz of [320, 640]) {
      // At 640 a batch of 4 exceeds the wasm heap for these models: measure batch 1 there.
      const b = imgsz >= 640 && backend.name === 'wasm' ? 1 : batch;
      rows.push(measure(model, imgsz, b, quick ? 1 : 3));
    }
  }
  const ri = process.argv.indexOf('--replicas');
  const replicas = ri > 0 ? Number(process.argv[ri + 1]) : Math.max(2, availableParallelism());
  const parallel: Array<{
    model: string;
    imgsz: number;
    batch: number;
    one: number;
    many: number;
    replicas: number;
    ratio: number;
    phases: StepPhases;
  }> = [];
  let beside: { aloneMs: number; besideMs: number } | null = null;
  const perReplica = Math.max(1, Math.floor(batch / replicas));
  if (backend.name === 'wasm') {
    for (const model of ['yolor-n', 'yolor-s']) {
      const one =
        rows.find((r) => r.model === model && r.imgsz === 320)?.imagesPerSecond ?? measure(model, 320, batch, quick ? 1 : 3).imagesPerSecond ?? NaN;
      const many = await measureParallel(model, 320, batch, quick ? 1 : 3, replicas);
      parallel.push({ model, imgsz: 320, batch, one, many: many.imagesPerSecond, replicas, ratio: many.imagesPerSecond / one, phases: many.phases });
    }
    beside = await replicaBesideReplica('yolor-n', 320, perReplica, quick ? 1 : 3, replicas);
  }
  // What this machine's cores can do together: compute scales, memory traffic is shared.
  const scaling: ScalingRow[] = parallel.length ? await measureThreadScaling(replicas) : [];
  const share = parallel.length ? await nonConvolutionShare('yolor-n', 320, batch) : Number.NaN;
  if (json) {
    console.log(
      JSON.stringify(
        { backend: backend.name, engines: engineRows, rows, parallel, replicaBesideReplica: beside, scaling, nonConvolutionShare: share },
        null,
        2,
      ),
    );
    return;
  }
  console.log(`backend ${backend.name}; synthetic batches; best of ${quick ? 1 : 3} steps after a warm-up\n`);
  console.log('model     size  batch  train img/s');
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(8)} ${String(r.imgsz).padStart(5)}  ${String(r.batch).padStart(5)}  ${r.imagesPerSecond === null ? `failed: ${r.note}` : r.imagesPerSecond.toFixed(2).padStart(11)}`,
    );
  }
  if (parallel.length) {
    console.log(`\ndata parallel (global batch ${batch}, ${availableParallelism()} cores): images/s with 1 worker and with N replicas`);
    console.log('model     size  1 worker  N  N workers  ratio');
    for (const p of parallel) {
      console.log(
        `${p.model.padEnd(8)} ${String(p.imgsz).padStart(5)}  ${p.one.toFixed(2).padStart(8)}  ${p.replicas}  ${p.many.toFixed(2).padStart(9)}  ${p.ratio.toFixed(2).padStart(5)}`,
      );
    }
    console.log(`\nparts of a ${replicas}-replica step (ms, median): the replicas' compute and gradient sum, and the main thread's serial work`);
    console.log('model     publish  replicas  optimiser    EMA    step  serial share');
    for (const p of parallel) {
      const f = p.phases;
      const serial = f.publish + f.optimizer + f.ema;
      console.log(
        `${p.model.padEnd(8)} ${f.publish.toFixed(0).padStart(8)}  ${f.replicas.toFixed(0).padStart(8)}  ${f.optimizer.toFixed(0).padStart(9)}  ${f.ema.toFixed(0).padStart(5)}  ${f.step.toFixed(0).padStart(6)}  ${((100 * serial) / f.step).toFixed(1).padStart(11)}%`,
      );
    }
    if (beside) {
      console.log(
        `a yolor-n replica's step (batch ${perReplica} at 320): ${beside.aloneMs.toFixed(0)} ms alone, ${beside.besideMs.toFixed(0)} ms beside ${replicas - 1} other(s) (${(beside.besideMs / beside.aloneMs).toFixed(2)}×)`,
      );
    }
    console.log(`\nwhat ${replicas} wasm engines of this machine do together (speedup = ${replicas} × time alone / time each):`);
    console.log('work        1 engine ms  N engines ms  speedup');
    for (const r of scaling) {
      const gbs =
        r.kind === 'streaming'
          ? `   (${(STREAM_BYTES / r.aloneMs / 1e6).toFixed(0)} GB/s alone, ${(STREAM_BYTES / r.togetherMs / 1e6).toFixed(0)} GB/s each)`
          : '';
      console.log(
        `${r.kind.padEnd(10)}  ${r.aloneMs.toFixed(0).padStart(11)}  ${r.togetherMs.toFixed(0).padStart(12)}  ${r.speedup.toFixed(2).padStart(7)}${gbs}`,
      );
    }
    console.log(
      `yolor-n step at 320, batch ${batch}: ${(100 * share).toFixed(0)}% of kernel time outside the convolutions (element-wise and reductions)`,
    );
  }
}

await main();
