/**
 * Data-parallel training and evaluation across worker threads (the main-thread
 * side). The main thread keeps the master model, the optimiser, the EMA, the
 * schedule, checkpoints and logs — single-sourced, so a run with N replicas is
 * the same run as with one, only faster. Each step:
 *   1. the batch is cut into N contiguous shards of images (sizes differing by
 *      at most one), with their labels (multi-task: image labels, class maps,
 *      identities); the whole batch's target assignment gives the global
 *      normalisers (batch size, positives per level, embedding picks) each
 *      shard's loss uses;
 *   2. the master weights are published to shared memory when they changed;
 *   3. every replica computes its shard's loss and gradients and writes them
 *      into its row of shared memory;
 *   4. the rows are summed into one gradient per parameter (in rank order) for
 *      the single optimiser update; batch-norm running statistics come back as
 *      the replicas' mean (per-replica batch norm) or rank 0's (synchronised:
 *      they are identical).
 * A replica that throws or dies rejects the step with its message; nothing
 * waits forever (synchronised batch norm's barrier has a timeout too).
 */

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendRequest, currentBackendRequest } from '../../engine/backend.js';
import type { DetectionRunner } from '../../infer/runner.js';
import type { TaskName } from '../../models/config.js';
import { serializeModelConfig } from '../../models/config.js';
import type { Detector } from '../../models/detector.js';
import type { Module } from '../../nn/module.js';
import { TARGET_ROW } from '../../tasks/detect/assign.js';
import type { DetectionHyp } from '../../tasks/detect/loss.js';
import { type TaskBatch, type TaskLossItems, taskGlobalCounts } from '../../tasks/multitask.js';
import { allocateShared, type ParamLayout, paramLayout, type SharedMemory } from './layout.js';
import type { ReplicaInit, ReplicaReply, ShardMessage } from './replica-worker.js';

export interface ReplicaPoolOptions {
  replicas: number;
  /** The replicas' backend (default: the one the main thread uses). */
  backend?: BackendRequest;
  syncBn?: boolean;
  lossHyp?: Partial<DetectionHyp>;
  /** Multi-task models: fixed task weights and the Dice weight (which must be 0: it does not split into shards). */
  taskLoss?: { weights: Partial<Record<TaskName, number>>; dice: number };
}

/** Loss items of a step: detection's components, each other task's loss, the total. */
export type StepItems = TaskLossItems;

/** A batch's labels beyond the detection targets (multi-task training; the loader's Batch has these fields). */
export type StepExtras = Pick<TaskBatch, 'labels' | 'semantic' | 'identity'>;

/**
 * Replicas for `--workers`: the number of cores by default, never more than the batch; 1
 * where the native kernels are active (one engine already uses every core, and beats two
 * one-core replicas: docs/engine.md#native-kernels-onednn-or-built-in).
 */
export function defaultReplicas(batch: number): number {
  if (currentBackendRequest() === 'native') return 1;
  return Math.max(1, Math.min(availableParallelism(), batch));
}

interface Shard {
  start: number;
  count: number;
}

/** Contiguous shards of b images over n replicas (the first b mod n get one more); empty ones dropped. */
export function shardBatch(b: number, n: number): Shard[] {
  const out: Shard[] = [];
  let start = 0;
  for (let r = 0; r < n; r++) {
    const count = Math.floor(b / n) + (r < b % n ? 1 : 0);
    if (count > 0) out.push({ start, count });
    start += count;
  }
  return out;
}

/** The shards' loss items added up (each shard's loss is already normalised by the whole batch). */
function sumItems(done: ReadonlyArray<{ items: StepItems }>): StepItems {
  const items: StepItems = { total: 0 };
  for (const d of done) {
    for (const [k, v] of Object.entries(d.items)) items[k] = (items[k] ?? 0) + v;
  }
  return items;
}

/** Rows [start, start + count) of a per-image array with `per` values per image. */
function shardRows<T extends Float32Array | Uint8Array>(values: T, b: number, shard: Shard): T {
  const per = values.length / b;
  return values.slice(shard.start * per, (shard.start + shard.count) * per) as T;
}

/** The identities of a shard's target rows (aligned with shardTargets' rows). */
function shardIdentity(targets: Float32Array, identity: Int32Array, shard: Shard): Int32Array {
  const out: number[] = [];
  for (let r = 0, o = 0; o < targets.length; r++, o += TARGET_ROW) {
    const img = targets[o]!;
    if (img >= shard.start && img < shard.start + shard.count) out.push(identity[r]!);
  }
  return Int32Array.from(out);
}

/** The target rows of images [start, start + count), re-indexed from 0. */
function shardTargets(targets: Float32Array, shard: Shard): Float32Array {
  const rows: number[] = [];
  for (let o = 0; o < targets.length; o += TARGET_ROW) {
    const img = targets[o]!;
    if (img >= shard.start && img < shard.start + shard.count) {
      rows.push(img - shard.start);
      for (let k = 1; k < TARGET_ROW; k++) rows.push(targets[o + k]!);
    }
  }
  return Float32Array.from(rows);
}

export class ReplicaPool {
  readonly layout: ParamLayout;
  private readonly shared: SharedMemory;
  private readonly weights: Float32Array;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (r: Extract<ReplicaReply, { type: 'done' }>) => void; reject: (e: Error) => void; rank: number }
  >();
  private nextId = 0;
  private version = 0;
  private failure: Error | null = null;
  private closing = false;

  private constructor(
    private readonly master: Detector,
    readonly opts: ReplicaPoolOptions,
  ) {
    this.layout = paramLayout(master);
    this.shared = allocateShared(this.layout, opts.replicas);
    this.weights = new Float32Array(this.shared.weights);
  }

  get replicas(): number {
    return this.opts.replicas;
  }

  /** Starts the replicas (each builds the model and its engine) and waits until all are ready. */
  static async start(master: Detector, opts: ReplicaPoolOptions): Promise<ReplicaPool> {
    if (!Number.isInteger(opts.replicas) || opts.replicas < 1) throw new Error(`replicas must be a positive integer; got ${opts.replicas}`);
    if ((opts.taskLoss?.dice ?? 0) > 0)
      throw new Error('data-parallel replicas cannot split the Dice term (a ratio of whole-batch sums) into shards: train it on one replica');
    const pool = new ReplicaPool(master, opts);
    const ready: Promise<void>[] = [];
    for (let rank = 0; rank < opts.replicas; rank++) {
      const init: ReplicaInit = {
        config: serializeModelConfig(master.config),
        backend: opts.backend ?? currentBackendRequest(),
        // The native kernels' threads: the cores shared out among the replicas.
        nativeThreads: Math.max(1, Math.floor(availableParallelism() / opts.replicas)),
        rank,
        world: opts.replicas,
        syncBn: opts.syncBn ?? false,
        shared: pool.shared,
        layout: pool.layout,
        lossHyp: opts.lossHyp ?? {},
        ...(opts.taskLoss ? { taskLoss: opts.taskLoss } : {}),
      };
      const w = new Worker(new URL('./replica-worker.js', import.meta.url), { workerData: init });
      ready.push(
        new Promise((resolve, reject) => {
          const onFirst = (msg: ReplicaReply): void => {
            w.off('message', onFirst);
            if (msg.type === 'ready') resolve();
            else reject(new Error(`data-parallel replica ${rank} failed to start: ${msg.type === 'error' ? msg.message : 'unexpected message'}`));
          };
          w.on('message', onFirst);
          w.once('error', (err) => reject(new Error(`data-parallel replica ${rank} failed to start: ${err.message}`)));
        }),
      );
      w.on('message', (msg: ReplicaReply) => pool.onMessage(rank, msg));
      w.on('error', (err) => pool.fail(new Error(`data-parallel replica ${rank} failed: ${err.message}`)));
      w.on('exit', (code) => {
        if (!pool.closing) pool.fail(new Error(`data-parallel replica ${rank} exited unexpectedly (code ${code}; out of memory?)`));
      });
      pool.workers.push(w);
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  private onMessage(rank: number, msg: ReplicaReply): void {
    if (msg.type === 'ready') return;
    const p = this.pending.get(msg.id);
    if (!p) {
      if (msg.type === 'error') this.fail(new Error(`data-parallel replica ${rank} failed: ${msg.message}`));
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'error') {
      const err = new Error(`data-parallel replica ${rank} failed: ${msg.message.split('\n')[0]}`);
      p.reject(err);
      this.fail(err);
    } else p.resolve(msg);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    // Replicas blocked in a batch-norm barrier would wait for the dead one: stop them all.
    if (!this.closing) for (const w of this.workers) void w.terminate();
  }

  /** Publishes a module's parameters and buffers (the master's, or the EMA model's for validation). */
  publish(from: Module = this.master): void {
    const byName = new Map(from.parameters().map((p) => [p.name, p.variable]));
    for (const s of this.layout.slots) {
      const v = byName.get(s.name);
      if (!v) throw new Error(`data-parallel: the model has no parameter ${s.name}`);
      this.weights.set(v.dataSync() as Float32Array, s.offset);
    }
    this.version++;
  }

  private send(rank: number, msg: Omit<ShardMessage, 'id' | 'version'>): Promise<Extract<ReplicaReply, { type: 'done' }>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const full: ShardMessage = { ...msg, id, version: this.version };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, rank });
      this.workers[rank]!.postMessage(full, [full.images.buffer as ArrayBuffer]);
    });
  }

  private dispatch(
    type: 'train' | 'eval',
    images: Float32Array,
    shape: [number, number, number, number],
    targets?: Float32Array,
    extras: StepExtras = {},
  ) {
    const [b, h, w, ch] = shape;
    const per = h * w * ch;
    const shards = shardBatch(b, this.replicas);
    // The whole batch's normalisers (batch size, positives per level, embedding picks).
    const global = targets ? taskGlobalCounts(this.master, { shape, targets, ...extras }) : undefined;
    return {
      shards,
      replies: Promise.all(
        shards.map((s, slot) =>
          this.send(slot, {
            type,
            images: images.slice(s.start * per, (s.start + s.count) * per),
            shape: [s.count, h, w, ch],
            ...(targets ? { targets: shardTargets(targets, s), global: global! } : {}),
            ...(extras.labels ? { labels: shardRows(extras.labels, b, s) } : {}),
            ...(extras.semantic ? { semantic: shardRows(extras.semantic, b, s) } : {}),
            ...(extras.identity && targets ? { identity: shardIdentity(targets, extras.identity, s) } : {}),
            active: shards.length,
            slot,
          }),
        ),
      ),
    };
  }

  /**
   * One training step's gradients (summed over the replicas; keyed by the master's
   * variable names, as GroupedOptimizer expects; the caller disposes them) and loss
   * items, for the master's current weights (call `publish()` after each update).
   * The master's batch-norm running statistics are updated from the replicas.
   */
  async step(
    images: Float32Array,
    shape: [number, number, number, number],
    targets: Float32Array,
    extras: StepExtras = {},
  ): Promise<{ grads: Record<string, tf.Tensor>; items: StepItems }> {
    const { shards, replies } = this.dispatch('train', images, shape, targets, extras);
    const done = await replies;
    const items = sumItems(done);
    const L = this.layout;
    const n = shards.length;
    const rows = Array.from({ length: n }, (_, r) => new Float32Array(this.shared.grads, r * L.trainable * 4, L.trainable));
    const bufRows = Array.from({ length: n }, (_, r) => new Float32Array(this.shared.buffers, r * L.buffers * 4, L.buffers));
    const vars = new Map(this.master.parameters().map((p) => [p.name, p.variable]));
    const grads: Record<string, tf.Tensor> = {};
    for (const s of L.slots) {
      const v = vars.get(s.name)!;
      if (s.group === 'buffer') {
        // Per-replica batch norm: the mean of the replicas' statistics; synchronised: all equal, take rank 0's.
        const sum = new Float32Array(s.size);
        const k = this.opts.syncBn ? 1 : n;
        for (let r = 0; r < k; r++) {
          const row = bufRows[r]!;
          for (let i = 0; i < s.size; i++) sum[i]! += row[s.rowOffset + i]!;
        }
        for (let i = 0; i < s.size; i++) sum[i]! /= k;
        const t = tf.tensor(sum, s.shape);
        v.assign(t);
        t.dispose();
        continue;
      }
      const sum = rows[0]!.slice(s.rowOffset, s.rowOffset + s.size);
      for (let r = 1; r < n; r++) {
        const row = rows[r]!;
        for (let i = 0; i < s.size; i++) sum[i]! += row[s.rowOffset + i]!;
      }
      grads[v.name] = tf.tensor(sum, s.shape);
    }
    return { grads, items };
  }

  /** Decoded rows (and the loss items when targets are given) of a batch with the published weights, in eval mode. */
  async evaluate(
    images: Float32Array,
    shape: [number, number, number, number],
    targets?: Float32Array,
  ): Promise<{ rows: Float32Array; items: { box: number; obj: number; cls: number; total: number } }> {
    const { replies } = this.dispatch('eval', images, shape, targets);
    const done = await replies;
    const total = done.reduce((s, d) => s + d.rows!.length, 0);
    const rows = new Float32Array(total);
    let o = 0;
    for (const d of done) {
      rows.set(d.rows!, o);
      o += d.rows!.length;
    }
    const items = sumItems(done);
    return { rows, items: { box: items.box ?? Number.NaN, obj: items.obj ?? Number.NaN, cls: items.cls ?? Number.NaN, total: items.total } };
  }

  /** What runs the replicas, for logs. */
  get engine(): string {
    return `tfjs (${tf.getBackend()}) × ${this.replicas} workers`;
  }

  /** The pool as a DetectionRunner over `weightsFrom`'s weights (published now). */
  runner(weightsFrom: Detector, names?: string[]): DetectionRunner {
    this.publish(weightsFrom);
    const c = weightsFrom.config;
    return {
      engine: this.engine,
      nc: c.nc,
      names: names ?? c.names ?? Array.from({ length: c.nc }, (_, i) => `class${i}`),
      imgsz: c.dims.imgsz,
      anySize: true,
      decode: async (images, shape) => (await this.evaluate(images, shape)).rows,
      evaluate: (images, shape, targets) => this.evaluate(images, shape, targets),
      dispose: async () => undefined,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
