/**
 * `yolor pretrain`: self-supervised pretraining of a zoo model's shared encoder
 * on unlabelled images with one or more pretext tasks (pretext/registry.ts) —
 * one head per task on the shared backbone and neck, the weighted sum of their
 * losses, AdamW (or SGD) with warm-up and cosine decay, gradient-norm clipping,
 * EMA weights, atomic last checkpoints every epoch (and on Ctrl-C), exact resume,
 * results.csv with one loss (and accuracy) column per task, and optionally the
 * linear-probe accuracy of the EMA encoder after every epoch (`probeData`).
 *
 * Labels never reach this loop: the images come from data/unlabelled.ts, which
 * keeps only pixels. Every random choice (image order, flips, each task's
 * transformations) is drawn from a generator seeded by (seed, epoch, batch), so
 * a resumed run continues exactly as the uninterrupted one would have.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { loadUnlabelledImages, type UnlabelledImages } from '../data/unlabelled.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { serializeModelConfig } from '../models/config.js';
import { PRETEXT_KIND, type PretextMeta } from '../models/pretext-checkpoint.js';
import { PretextNetwork } from '../models/pretext-network.js';
import { resolveModelConfig } from '../models/zoo.js';
import { pretextOptions } from '../pretext/options.js';
import { pretextSpecs } from '../pretext/registry.js';
import type { PretextBatch, PretextOptions } from '../pretext/types.js';
import { ProgressBar } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { loadTrainState, STATE_JSON, saveTrainCheckpoint, type TrainMeta } from './checkpoint.js';
import { ModelEma } from './ema.js';
import { clipGradNorm, GroupedOptimizer, type OptimizerName } from './optimizer.js';
import { probe } from './probe.js';
import { scheduleAt } from './schedule.js';

export interface PretrainOptions {
  /** Unlabelled images: a folder, an image, an IDX images file or `fashion-mnist` … */
  source?: string;
  /** … or the images of a dataset's split (its labels are never read). */
  data?: string;
  split?: string;
  model: string;
  /** Pretext tasks (names from the pretext table). */
  tasks: string[];
  /** Loss weight per task (default: each spec's defaultWeight). */
  taskWeights?: Record<string, number>;
  imgsz: number;
  epochs: number;
  batch: number;
  optimizer: OptimizerName;
  lr0?: number;
  project: string;
  name: string;
  seed: number;
  /** Run directory to resume (true: the latest run under project). */
  resume?: string | true;
  /** Use at most this many images. */
  limit?: number;
  skipBad?: boolean;
  /** Pretext task options (jigsaw permutations, temperature, …). */
  pretext?: Partial<PretextOptions>;
  /**
   * Labelled classification data to run the linear probe on after every epoch
   * (its labels are read only by the probe, on the frozen EMA encoder).
   */
  probeData?: string;
  /** Runs the probe on a checkpoint (default with probeData: `probeEpoch`): top-1 at the best layer. */
  probe?: (encoderCheckpoint: string) => Promise<{ top1: number; layer: string }>;
  quiet?: boolean;
  /** Stop after this many batches in total (tests; simulating an interruption). */
  maxBatches?: number;
}

export interface PretrainResult {
  runDir: string;
  rows: Array<Record<string, number>>;
  interrupted: boolean;
  images: number;
  /** Seconds spent training (all epochs of this process, checkpoints included). */
  seconds: number;
}

function log(quiet: boolean | undefined, line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

function uniqueRunDir(project: string, name: string): string {
  let dir = resolve(project, name);
  for (let k = 2; existsSync(dir); k++) dir = resolve(project, `${name}${k}`);
  return dir;
}

/** A generator for one (epoch, batch, stream) of a run: independent streams, reproducible on resume. */
function rngFor(seed: number, epoch: number, batch: number, stream: number): Rng {
  let h = (seed * 0x9e3779b1) ^ (epoch * 0x85ebca6b) ^ (batch * 0xc2b2ae35) ^ (stream * 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return new Rng((h ^ (h >>> 16)) >>> 0);
}

/** The image order of an epoch: a seeded permutation. */
function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const rng = rngFor(seed, epoch, -1, 0);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** A batch of images (0–1 floats), each flipped left–right with probability ½. */
function makeBatch(images: UnlabelledImages, indices: ArrayLike<number>, rng: Rng): PretextBatch {
  const s = images.size;
  const n = s * s * 3;
  const out = new Float32Array(indices.length * n);
  for (let b = 0; b < indices.length; b++) {
    const px = images.pixels[indices[b]!]!;
    const flip = rng.next() < 0.5;
    const off = b * n;
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++) {
        const src = (y * s + (flip ? s - 1 - x : x)) * 3;
        const dst = off + (y * s + x) * 3;
        out[dst] = px[src]! / 255;
        out[dst + 1] = px[src + 1]! / 255;
        out[dst + 2] = px[src + 2]! / 255;
      }
  }
  return { images: out, shape: [indices.length, s, s, 3] };
}

/** results.csv of a pretraining run: the union of the rows' columns, epoch first. */
function csv(rows: ReadonlyArray<Record<string, number>>): string {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cell = (v: number | undefined): string => (v === undefined ? '' : Number.isInteger(v) ? String(v) : v.toPrecision(6));
  return `${[cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n')}\n`;
}

function resumableRun(path: string | true, project: string): string {
  if (path === true) {
    const root = resolve(project);
    if (!existsSync(root)) throw new Error(`--resume: no runs under ${root}`);
    const runs = readdirSync(root)
      .map((d) => join(root, d))
      .filter((d) => existsSync(join(d, 'weights', 'last', STATE_JSON)))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    if (!runs[0]) throw new Error(`--resume: no pretraining run with a last checkpoint under ${root}`);
    return runs[0];
  }
  let dir = resolve(path);
  if (!existsSync(dir)) throw new Error(`--resume ${path}: no such run directory`);
  if (basename(dir) === 'last' && basename(dirname(dir)) === 'weights') dir = dirname(dirname(dir));
  if (!existsSync(join(dir, 'args.yaml'))) throw new Error(`--resume ${path}: ${dir} is not a pretraining run folder (no args.yaml)`);
  if (!existsSync(join(dir, 'weights', 'last', STATE_JSON)))
    throw new Error(`--resume ${path}: the run has no resumable checkpoint (${join(dir, 'weights', 'last', STATE_JSON)} is missing)`);
  return dir;
}

/**
 * The per-epoch probe of a pretraining run: the linear probe (train/probe.ts, its
 * default protocol but 10 epochs and no kNN, no baselines) of the checkpoint on
 * `data`, with at most `limitTrain` training items; top-1 at the best layer.
 */
export async function probeEpoch(checkpoint: string, data: string, o: { limitTrain?: number } = {}): Promise<{ top1: number; layer: string }> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'yolor-probe-'));
  try {
    const r = await probe({
      weights: checkpoint,
      data,
      baselines: false,
      knn: 0,
      epochs: 10,
      limitTrain: o.limitTrain ?? 10000,
      project: dir,
      name: 'probe',
      progress: false,
      log: () => {},
    });
    const row = r.json.rows.find((x) => x.kind === 'checkpoint')!;
    return { top1: row.best.top1, layer: row.best.layer };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function pretrain(opts: PretrainOptions): Promise<PretrainResult> {
  let resumeDir: string | null = null;
  if (opts.resume) {
    resumeDir = resumableRun(opts.resume, opts.project);
    const saved = parseYaml(readFileSync(join(resumeDir, 'args.yaml'), 'utf8')) as Partial<PretrainOptions>;
    opts = { ...opts, ...saved, resume: resumeDir, maxBatches: opts.maxBatches, quiet: opts.quiet, probe: opts.probe };
  }
  const say = (line: string): void => log(opts.quiet, line);
  const specs = pretextSpecs(opts.tasks);
  const options = pretextOptions(opts.pretext ?? {});
  const weights: Record<string, number> = {};
  for (const s of specs) {
    const w = opts.taskWeights?.[s.name] ?? s.defaultWeight;
    if (!(w >= 0)) throw new Error(`--task-weights: weight ${w} of '${s.name}' is not ≥ 0`);
    weights[s.name] = w;
  }
  for (const k of Object.keys(opts.taskWeights ?? {}))
    if (!specs.some((s) => s.name === k))
      throw new Error(`--task-weights: '${k}' is not one of the pretext tasks of this run (${opts.tasks.join(', ')})`);
  const cfg = resolveModelConfig(opts.model);
  const stride = 32;
  if (!(opts.imgsz > 0 && opts.imgsz % stride === 0)) throw new Error(`--imgsz ${opts.imgsz}: must be a positive multiple of ${stride}`);
  if (!(opts.batch >= 2)) throw new Error(`--batch ${opts.batch}: pretraining needs at least 2 images per batch (batch norm, contrastive pairs)`);
  // ---- images (pixels only)
  let bar0: ProgressBar | null = null;
  let shown = 0;
  const images = await loadUnlabelledImages({
    ...(opts.source !== undefined ? { source: opts.source } : {}),
    ...(opts.data !== undefined ? { data: opts.data } : {}),
    ...(opts.split ? { split: opts.split } : {}),
    size: opts.imgsz,
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    skipBad: opts.skipBad ?? false,
    onImage: (done, total) => {
      if (opts.quiet) return;
      bar0 ??= new ProgressBar({ total, label: 'load images', unit: 'img' });
      bar0.tick(done - shown);
      shown = done;
    },
  });
  (bar0 as ProgressBar | null)?.finish();
  for (const s of images.skipped) say(`skipped ${s.file}: ${s.problem}`);
  const nb = Math.floor(images.pixels.length / opts.batch);
  if (nb < 1) throw new Error(`${images.source}: ${images.pixels.length} images, fewer than one batch of ${opts.batch}`);
  say(
    `pretrain: ${images.pixels.length} images from ${images.source} at ${opts.imgsz} px; tasks ${specs.map((s) => `${s.name}×${weights[s.name]}`).join(', ')}`,
  );
  // ---- run folder, network, state
  const runDir = resumeDir ?? uniqueRunDir(opts.project, opts.name);
  mkdirSync(join(runDir, 'weights'), { recursive: true });
  const last = join(runDir, 'weights', 'last');
  const state = resumeDir ? await loadTrainState(last) : null;
  const taskStates: Record<string, unknown> = {};
  if (state) {
    const saved = (state.meta.pretext as PretextMeta | undefined)?.states ?? {};
    for (const s of specs) if (s.checkState) taskStates[s.name] = s.checkState(saved[s.name], `${join(last, STATE_JSON)} (pretext.states.${s.name})`);
  } else {
    for (const s of specs) if (s.init) taskStates[s.name] = s.init(options, rngFor(opts.seed, -1, -1, 1 + specs.indexOf(s)));
    await writeFileAtomic(
      join(runDir, 'args.yaml'),
      toYaml({ ...opts, resume: undefined, maxBatches: undefined, quiet: undefined, probe: undefined, pretext: options }),
    );
  }
  const net = new PretextNetwork(cfg, { tasks: opts.tasks, states: taskStates, imgsz: opts.imgsz, options, seed: opts.seed });
  const pretextMeta: PretextMeta = { tasks: specs.map((s) => s.name), states: taskStates, options, imgsz: opts.imgsz };
  const lr0 = opts.lr0 ?? (opts.optimizer === 'adamw' ? 0.002 : 0.05);
  const momentum = opts.optimizer === 'adamw' ? 0.9 : 0.9;
  const optimizer = new GroupedOptimizer(net, { name: opts.optimizer, lr: lr0, momentum, weightDecay: opts.optimizer === 'adamw' ? 0.05 : 5e-4 });
  const ema = new ModelEma(net, 0.999, 200);
  const totalSteps = opts.epochs * nb;
  const sched = {
    lr0,
    lrf: 0.01,
    epochs: opts.epochs,
    kind: 'cosine' as const,
    warmupSteps: Math.min(Math.max(nb, 10), Math.floor(totalSteps * 0.2)),
    warmupBiasLr: 0,
    warmupMomentum: momentum,
    momentum,
  };
  let meta: TrainMeta = { epoch: 0, batch: 0, step: 0, emaUpdates: 0, bestFitness: -1, bestEpoch: -1 };
  let rows: Array<Record<string, number>> = [];
  if (state) {
    net.loadStateDict(state.model);
    ema.loadState(state.ema, state.meta.emaUpdates);
    optimizer.loadState(state.optimizer, state.meta.step);
    meta = state.meta;
    rows = (meta.rows as Array<Record<string, number>> | undefined) ?? [];
    state.dispose();
    say(`resuming ${runDir} at epoch ${meta.epoch + 1}, batch ${meta.batch}`);
  }
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  const describe = { kind: PRETEXT_KIND, config: serializeModelConfig(cfg), pretext: pretextMeta };
  const saveLast = async (extra: Partial<TrainMeta>): Promise<void> => {
    await saveTrainCheckpoint(last, {
      model: net,
      ema: ema.state(),
      optimizer: optimizer.state(),
      meta: { ...meta, ...extra, emaUpdates: ema.updates, step: optimizer.step, rows, pretext: pretextMeta },
      describe,
      modelMeta: {
        epoch: meta.epoch,
        imgsz: opts.imgsz,
        pretrained: { source: images.source, images: images.pixels.length, tasks: pretextMeta.tasks },
      },
    });
  };
  const t00 = performance.now();
  let batchesRun = 0;
  let imagesSeen = 0;
  try {
    for (let epoch = meta.epoch; epoch < opts.epochs; epoch++) {
      const startBatch = epoch === meta.epoch ? meta.batch : 0;
      meta.epoch = epoch;
      const t0 = performance.now();
      const order = epochOrder(images.pixels.length, opts.seed, epoch);
      const sums: Record<string, number> = startBatch > 0 && meta.partial ? { ...(meta.partial as Record<string, number>) } : { n: 0 };
      const bar = opts.quiet ? null : new ProgressBar({ total: nb, label: `epoch ${epoch + 1}/${opts.epochs}`, unit: 'batch' });
      if (startBatch) bar?.tick(startBatch);
      net.train();
      for (let bi = startBatch; bi < nb; bi++) {
        const batch = makeBatch(images, order.subarray(bi * opts.batch, (bi + 1) * opts.batch), rngFor(opts.seed, epoch, bi, 0));
        const items: Record<string, number> = {};
        const { value, grads } = tf.variableGrads(() => {
          let total: tf.Scalar | null = null;
          specs.forEach((spec, k) => {
            const r = spec.loss({
              encoder: net,
              head: net.heads[spec.name]!,
              batch,
              rng: rngFor(opts.seed, epoch, bi, k + 1),
              state: taskStates[spec.name],
              options,
            });
            items[`${spec.name}_loss`] = r.items.loss;
            if (r.items.acc !== undefined) items[`${spec.name}_acc`] = r.items.acc;
            const w = tf.mul(r.loss, weights[spec.name]!) as tf.Scalar;
            total = total ? (tf.add(total, w) as tf.Scalar) : w;
          });
          return total!;
        }, optimizer.variables);
        const totalLoss = value.dataSync()[0]!;
        value.dispose();
        if (!Number.isFinite(totalLoss)) {
          tf.dispose(Object.values(grads));
          throw new Error(
            `non-finite pretext loss at epoch ${epoch + 1}, batch ${bi} (${Object.entries(items)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}); images ${Array.from(order.subarray(bi * opts.batch, bi * opts.batch + 3), (i) => images.names[i]).join(', ')}, …; ` +
              `the last good checkpoint is ${last}`,
          );
        }
        const s = scheduleAt(optimizer.step, epoch, sched);
        Object.assign(optimizer.lr, s.lr);
        optimizer.momentum = s.momentum;
        clipGradNorm(grads, 10);
        optimizer.apply(grads);
        tf.dispose(Object.values(grads));
        ema.update();
        for (const [k, v] of Object.entries(items)) sums[k] = (sums[k] ?? 0) + v;
        sums.loss = (sums.loss ?? 0) + totalLoss;
        sums.n = (sums.n ?? 0) + 1;
        batchesRun++;
        imagesSeen += opts.batch;
        const n = sums.n!;
        bar?.tick(
          1,
          Object.fromEntries(specs.map((sp) => [sp.name.slice(0, 6), ((sums[`${sp.name}_loss`] ?? 0) / n).toFixed(4)] as [string, string])),
        );
        if (interrupted || (opts.maxBatches !== undefined && batchesRun >= opts.maxBatches)) {
          meta.batch = bi + 1;
          await saveLast({ epoch, batch: bi + 1, partial: { ...sums } });
          interrupted = true;
          break;
        }
      }
      bar?.finish();
      if (interrupted) {
        say(`interrupted: saved ${last} (resume with 'yolor pretrain --resume ${runDir}')`);
        break;
      }
      const n = Math.max(sums.n ?? 0, 1);
      const row: Record<string, number> = { epoch: epoch + 1 };
      for (const sp of specs) {
        row[`train/${sp.name}_loss`] = (sums[`${sp.name}_loss`] ?? 0) / n;
        if (sums[`${sp.name}_acc`] !== undefined) row[`train/${sp.name}_acc`] = sums[`${sp.name}_acc`]! / n;
      }
      row['train/loss'] = (sums.loss ?? 0) / n;
      row.lr = optimizer.lr.weight;
      meta.epoch = epoch + 1;
      meta.batch = 0;
      await saveLast({ partial: undefined });
      if (opts.probeData) {
        const p = await (opts.probe ?? ((ckpt: string) => probeEpoch(ckpt, opts.probeData!)))(last);
        row['probe/top1'] = p.top1;
        say(`probe: top-1 ${(100 * p.top1).toFixed(2)} % at ${p.layer}`);
      }
      row.time = (performance.now() - t0) / 1000;
      rows.push(row);
      await saveLast({ partial: undefined });
      await writeFileAtomic(join(runDir, 'results.csv'), csv(rows));
      say(
        `epoch ${epoch + 1}/${opts.epochs}: ${specs
          .map((sp) => {
            const acc = row[`train/${sp.name}_acc`];
            return `${sp.name} ${row[`train/${sp.name}_loss`]!.toFixed(4)}${acc !== undefined ? ` (acc ${acc.toFixed(3)})` : ''}`;
          })
          .join(' | ')} | ${row.time.toFixed(0)} s`,
      );
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    optimizer.dispose();
    ema.dispose();
    net.dispose();
  }
  return { runDir, rows, interrupted, images: imagesSeen, seconds: (performance.now() - t00) / 1000 };
}
