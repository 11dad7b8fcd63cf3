/**
 * One model replica of data-parallel training, in its own worker thread with
 * its own tfjs engine (the wasm backend runs one thread per engine in Node, so
 * separate engines are what use several cores).
 *
 * Per step it reads the current weights from shared memory (only when the main
 * thread published new ones), computes the loss and gradients of its shard of
 * the batch — with the whole batch's normalisers, so the shards' gradients sum
 * to the whole batch's — and writes its gradient row and its batch-norm running
 * statistics into shared memory. With synchronised batch norm the replicas sum
 * their statistics through shared memory inside the forward and backward
 * passes (nn/fused-ops.ts). In eval mode it decodes predictions (and the loss
 * when targets come with the shard) for validation.
 */

import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendRequest, initBackend } from '../../engine/backend.js';
import { setBatchNormAllReduce } from '../../engine/fused-ops.js';
import { loadNativeAddon } from '../../engine/native/index.js';
import type { TaskName } from '../../models/config.js';
import { parseModelConfig } from '../../models/config.js';
import { Detector } from '../../models/detector.js';
import { buildTargets, gridsOfMaps } from '../../tasks/detect/assign.js';
import { decodePredictions } from '../../tasks/detect/decode.js';
import { type DetectionHyp, detectionLoss } from '../../tasks/detect/loss.js';
import { multiTaskLoss, type TaskGlobalCounts, type TaskLossItems } from '../../tasks/multitask.js';
import { barrier, type ParamLayout, type SharedMemory } from './layout.js';

export interface ReplicaInit {
  config: Record<string, unknown>;
  backend: BackendRequest;
  /** Threads for the native kernels of this replica's engine. */
  nativeThreads: number;
  rank: number;
  world: number;
  syncBn: boolean;
  shared: SharedMemory;
  layout: ParamLayout;
  lossHyp: Partial<DetectionHyp>;
  /** Multi-task models: the fixed task weights and the Dice weight (0: data-parallel needs it). */
  taskLoss?: { weights: Partial<Record<TaskName, number>>; dice: number };
}

export interface ShardMessage {
  type: 'train' | 'eval';
  id: number;
  /** Version of the weights in shared memory this step must use. */
  version: number;
  images: Float32Array;
  shape: [number, number, number, number];
  /** Target rows [image in shard, cls, cx, cy, w, h]; absent in eval without loss. */
  targets?: Float32Array;
  global?: TaskGlobalCounts;
  /** Multi-task shards: image labels (images × labels), class maps (images × H × W), identity per target row. */
  labels?: Float32Array;
  semantic?: Uint8Array;
  identity?: Int32Array;
  /** Ranks taking part in this step (synchronised batch norm counts them at its barriers). */
  active: number;
  /** This replica's position among the active ones. */
  slot: number;
}

export type ReplicaReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; items: TaskLossItems; finite: boolean; rows?: Float32Array }
  | { type: 'error'; id: number; message: string };

const init = workerData as ReplicaInit;
const port = parentPort!;

function fail(id: number, err: unknown): void {
  port.postMessage({ type: 'error', id, message: (err as Error)?.stack ?? String(err) } satisfies ReplicaReply);
}

async function main(): Promise<void> {
  const info = await initBackend(init.backend);
  if (info.native) loadNativeAddon().addon?.setThreads(init.nativeThreads);
  const cfg = parseModelConfig(init.config, 'replica');
  const model = new Detector(cfg);
  const { layout, shared } = init;
  const weights = new Float32Array(shared.weights);
  const gradRow = new Float32Array(shared.grads, init.rank * layout.trainable * 4, layout.trainable);
  const bufRow = new Float32Array(shared.buffers, init.rank * layout.buffers * 4, layout.buffers);
  const reduce = new Float64Array(shared.reduce);
  const control = new Int32Array(shared.control);
  const params = new Map(model.parameters().map((p) => [p.name, p]));
  for (const s of layout.slots) {
    const p = params.get(s.name);
    if (!p || p.variable.size !== s.size) throw new Error(`replica ${init.rank}: parameter ${s.name} does not match the main model`);
  }
  const trainable = layout.slots.filter((s) => s.group !== 'buffer');
  const trainVars = trainable.map((s) => params.get(s.name)!.variable);
  let loaded = -1;

  const loadWeights = (version: number): void => {
    if (version === loaded) return;
    for (const s of layout.slots) {
      const v = params.get(s.name)!.variable;
      const t = tf.tensor(weights.subarray(s.offset, s.offset + s.size), s.shape);
      v.assign(t);
      t.dispose();
    }
    loaded = version;
  };

  port.on('message', (msg: ShardMessage) => {
    try {
      loadWeights(msg.version);
      const [b] = msg.shape;
      const lossOf = (maps: tf.Tensor4D[]) => {
        const a = buildTargets(msg.targets!, { anchors: cfg.anchors, strides: model.strides, grids: gridsOfMaps(maps), batchSize: b, nc: cfg.nc });
        return detectionLoss(maps, a, cfg.anchors, model.strides, cfg.nc, {
          ...init.lossHyp,
          ...(msg.global ? { global: { batch: msg.global.batch, positives: msg.global.tasks.detect ?? [] } } : {}),
        });
      };
      if (msg.type === 'train') {
        model.train();
        let items: TaskLossItems = { total: 0 };
        if (init.syncBn) {
          const L = layout.reduceLength;
          setBatchNormAllReduce((v) => {
            reduce.set(v, msg.slot * L);
            barrier(control, msg.active);
            const out = new Float64Array(v.length);
            for (let r = 0; r < msg.active; r++) {
              const o = r * L;
              for (let i = 0; i < v.length; i++) out[i]! += reduce[o + i]!;
            }
            barrier(control, msg.active);
            return out;
          });
        }
        let grads: tf.NamedTensorMap;
        try {
          const r = tf.variableGrads(() => {
            // One loss path, as on the main thread: detection alone is B·(box + obj + cls), weight 1.
            const x = tf.tensor4d(msg.images, msg.shape);
            const l = multiTaskLoss(
              model,
              model.forwardTasks(x),
              {
                shape: msg.shape,
                targets: msg.targets!,
                ...(msg.labels ? { labels: msg.labels } : {}),
                ...(msg.semantic ? { semantic: msg.semantic } : {}),
                ...(msg.identity ? { identity: msg.identity } : {}),
              },
              {
                lossHyp: init.lossHyp,
                weights: init.taskLoss?.weights ?? {},
                dice: init.taskLoss?.dice ?? 0,
                ...(msg.global ? { global: msg.global } : {}),
              },
            );
            items = l.items;
            return l.total;
          }, trainVars);
          r.value.dispose();
          grads = r.grads;
        } finally {
          setBatchNormAllReduce(null);
        }
        for (const s of trainable) {
          const g = grads[params.get(s.name)!.variable.name];
          if (g) gradRow.set(g.dataSync() as Float32Array, s.rowOffset);
          else gradRow.fill(0, s.rowOffset, s.rowOffset + s.size);
        }
        tf.dispose(Object.values(grads));
        for (const s of layout.slots) {
          if (s.group === 'buffer') bufRow.set(params.get(s.name)!.variable.dataSync() as Float32Array, s.rowOffset);
        }
        port.postMessage({ type: 'done', id: msg.id, items, finite: Number.isFinite(items.total) } satisfies ReplicaReply);
        return;
      }
      model.eval();
      let items = { box: Number.NaN, obj: Number.NaN, cls: Number.NaN, total: Number.NaN };
      const rowsT = tf.tidy(() => {
        const maps = model.forward(tf.tensor4d(msg.images, msg.shape));
        if (msg.targets) items = lossOf(maps).items;
        return decodePredictions(maps, cfg.anchors, model.strides, { rule: 'scaled' });
      });
      const rows = (rowsT.dataSync() as Float32Array).slice();
      rowsT.dispose();
      port.postMessage({ type: 'done', id: msg.id, items, finite: true, rows } satisfies ReplicaReply, [rows.buffer]);
    } catch (err) {
      fail(msg.id, err);
    }
  });
  port.postMessage({ type: 'ready' } satisfies ReplicaReply);
}

main().catch((err) => fail(-1, err));
