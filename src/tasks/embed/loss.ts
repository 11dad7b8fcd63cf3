/**
 * Embedding loss of joint detection and embedding (JDE): the embedding of each
 * positive detection cell (the cells the detection targets are assigned to, one
 * vector per distinct image/level/cell/object) goes through the identity
 * classifier, trained with softmax cross-entropy on the objects' identity ids.
 * Objects with an unknown identity (−1) are skipped.
 *
 * For evaluation, `gtEmbeddingCells` picks one cell per ground-truth box: on the
 * level whose anchors best fit the box (width/height IoU), the cell holding its
 * centre.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Assignment, TARGET_ROW, whIou } from '../detect/assign.js';
import type { IdentityClassifier } from './head.js';

/** Rows of the embedding maps (flattened [B·h·w, E] per level) and their identities. */
export interface EmbeddingPicks {
  /** Per level: flat indices (b·h + y)·w + x. */
  index: Int32Array[];
  /** Identity per pick, levels concatenated in order. */
  identity: Int32Array;
  /** Target-table row (ground-truth box) per pick, levels concatenated. */
  gt: Int32Array;
}

/** The distinct positive cells of an assignment with a known identity. */
export function positiveEmbeddingCells(
  assignment: Assignment,
  grids: ReadonlyArray<readonly [number, number]>,
  identity: Int32Array,
): EmbeddingPicks {
  const index: Int32Array[] = [];
  const ids: number[] = [];
  const gts: number[] = [];
  assignment.levels.forEach((lt, li) => {
    const [, nx] = grids[li]!;
    const ny = grids[li]![0];
    const seen = new Set<string>();
    const idx: number[] = [];
    for (let k = 0; k < lt.count; k++) {
      const g = lt.gt[k]!;
      const id = identity[g] ?? -1;
      if (id < 0) continue;
      const flat = (lt.b[k]! * ny + lt.gj[k]!) * nx + lt.gi[k]!;
      const key = `${flat}:${g}`;
      if (seen.has(key)) continue;
      seen.add(key);
      idx.push(flat);
      ids.push(id);
      gts.push(g);
    }
    index.push(Int32Array.from(idx));
  });
  return { index, identity: Int32Array.from(ids), gt: Int32Array.from(gts) };
}

/** One cell per ground-truth row of a target table: best-fitting level by anchor shape, centre cell. */
export function gtEmbeddingCells(
  targets: Float32Array,
  anchors: ReadonlyArray<ReadonlyArray<readonly [number, number]>>,
  strides: readonly number[],
  grids: ReadonlyArray<readonly [number, number]>,
  identity: Int32Array,
): EmbeddingPicks {
  const n = targets.length / TARGET_ROW;
  const perLevel: number[][] = anchors.map(() => []);
  const perLevelId: number[][] = anchors.map(() => []);
  const perLevelGt: number[][] = anchors.map(() => []);
  for (let r = 0; r < n; r++) {
    const o = r * TARGET_ROW;
    const [b, , cx, cy, w, h] = [targets[o]!, targets[o + 1]!, targets[o + 2]!, targets[o + 3]!, targets[o + 4]!, targets[o + 5]!];
    let best = 0;
    let bestIou = -1;
    anchors.forEach((level, li) => {
      for (const [aw, ah] of level) {
        const iou = whIou(w, h, aw, ah);
        if (iou > bestIou) {
          bestIou = iou;
          best = li;
        }
      }
    });
    const s = strides[best]!;
    const [ny, nx] = grids[best]!;
    const gx = Math.min(nx - 1, Math.max(0, Math.floor(cx / s)));
    const gy = Math.min(ny - 1, Math.max(0, Math.floor(cy / s)));
    perLevel[best]!.push((b * ny + gy) * nx + gx);
    perLevelId[best]!.push(identity[r] ?? -1);
    perLevelGt[best]!.push(r);
  }
  return {
    index: perLevel.map((l) => Int32Array.from(l)),
    identity: Int32Array.from(perLevelId.flat()),
    gt: Int32Array.from(perLevelGt.flat()),
  };
}

/** The picked embedding vectors [N, E] (levels concatenated in order). */
export function gatherEmbeddings(maps: readonly tf.Tensor4D[], picks: EmbeddingPicks): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  maps.forEach((m, li) => {
    const idx = picks.index[li]!;
    if (idx.length === 0) return;
    const [b, h, w, e] = m.shape;
    parts.push(tf.gather(tf.reshape(m, [b * h * w, e]), tf.tensor1d(idx, 'int32')) as tf.Tensor2D);
  });
  const e = maps[0]!.shape[3];
  if (parts.length === 0) return tf.zeros([0, e]) as tf.Tensor2D;
  return parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor2D);
}

/** Identity cross-entropy over the picked embeddings (0 when there is none). */
export function embedLoss(maps: readonly tf.Tensor4D[], picks: EmbeddingPicks, classifier: IdentityClassifier): tf.Scalar {
  const n = picks.identity.length;
  if (n === 0) return tf.mul(tf.sum(maps[0]!), 0) as tf.Scalar; // keeps the graph connected
  const nId = classifier.weight.shape[1]!;
  for (const id of picks.identity) {
    if (id >= nId) throw new Error(`embed loss: identity ${id} but the classifier knows ${nId} identities (num_identities)`);
  }
  const logits = classifier.forward(gatherEmbeddings(maps, picks));
  const labels = tf.oneHot(tf.tensor1d(picks.identity, 'int32'), nId);
  return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}
