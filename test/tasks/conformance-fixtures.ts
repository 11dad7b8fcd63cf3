/**
 * What the conformance suite (conformance.test.ts) needs to know about each task
 * beyond its spec: the shapes of its head's output, and — for a task with an
 * output evaluator — a toy batch with outputs whose metrics were worked out by
 * hand. A task registered without an entry here fails the suite.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Detector } from '../../src/models/detector.js';
import type { TaskEvalBatch } from '../../src/tasks/types.js';

export interface EvaluatorCase {
  batch: TaskEvalBatch;
  /** The task's output for the batch (disposed by the suite). */
  out: unknown;
  /** Metric columns and their hand-computed values. */
  expected: Record<string, number>;
}

export interface TaskFixture {
  /** Shapes of the head's output for a batch of `b` images of `s` px (one per map for per-level outputs). */
  outputShapes(model: Detector, b: number, s: number): number[][];
  /** The evaluator's toy case (tasks evaluated on decoded rows have none). */
  evaluatorCase?(model: Detector): EvaluatorCase;
}

const whole = (w: number, h: number) => ({ padX: 0, padY: 0, scale: 1, width: w, height: h });

export const FIXTURES: Record<string, TaskFixture> = {
  detect: {
    outputShapes: (m, b, s) => m.strides.map((st) => [b, s / st, s / st, m.config.anchors[0]!.length * (5 + m.config.nc)]),
  },
  classify: {
    outputShapes: (m, b) => [[b, m.config.numLabels]],
    evaluatorCase(m) {
      // Two labels used (the rest all 0 / −20). Probabilities: image 0 [0.9, 0.2], image 1 [0.6, 0.8];
      // truth: image 0 has label 0, image 1 label 1. AP: label 0 ranks its positive (0.9) above its
      // negative (0.6) → 1; label 1 likewise (0.8 > 0.2) → 1; labels without positives are left out: mAP 1.
      // At 0.5: predicted (0,0) ✓, (1,0) ✗, (1,1) ✓ → precision 2/3, recall 1, F1 0.8.
      const L = m.config.numLabels;
      const logit = (p: number): number => Math.log(p / (1 - p));
      const logits = new Float32Array(2 * L).fill(-20);
      const labels = new Float32Array(2 * L);
      logits[0] = logit(0.9);
      logits[1] = logit(0.2);
      logits[L] = logit(0.6);
      logits[L + 1] = logit(0.8);
      labels[0] = 1;
      labels[L + 1] = 1;
      return {
        batch: { shape: [2, 8, 8, 3], targets: new Float32Array(0), labels, originals: [whole(8, 8), whole(8, 8)] },
        out: tf.tensor2d(logits, [2, L]),
        expected: { 'metrics/mAP(C)': 1, 'metrics/F1(C)': 0.8 },
      };
    },
  },
  segment: {
    outputShapes: (m, b, s) => [[b, s, s, m.config.nc + 1]],
    evaluatorCase(m) {
      // One 2×2 image; predicted classes [0, 1; 2, 2] against truth [0, 1; 1, 2]:
      // IoU background 1/1, class 1 1/2 (one pixel missed), class 2 1/2 (one false pixel); mIoU 2/3.
      const K = m.config.nc + 1;
      const pred = [0, 1, 2, 2];
      const logits = new Float32Array(4 * K);
      pred.forEach((c, i) => (logits[i * K + c] = 5));
      return {
        batch: { shape: [1, 2, 2, 3], targets: new Float32Array(0), semantic: Uint8Array.from([0, 1, 1, 2]), originals: [whole(2, 2)] },
        out: tf.tensor4d(logits, [1, 2, 2, K]),
        expected: { 'metrics/mIoU(S)': 2 / 3 },
      };
    },
  },
  embed: {
    outputShapes: (m, b, s) => m.strides.map((st) => [b, s / st, s / st, m.config.embedDim]),
    evaluatorCase(m) {
      // 64 px, two images. Image 0: object P (identity 1); image 1: Q (identity 1) on the left, R
      // (identity 2) on the right. Embeddings: everything in image 0 is [1, 0]; in image 1 the left half
      // [0.6, 0.8], the right half [1, 0]. Query P ranks R (cosine 1) above Q (0.6): top-1 wrong, AP 1/2;
      // Q's gallery is P alone: right, AP 1; R has no same-identity item elsewhere: not counted.
      // top-1 1/2, mAP 3/4, 2 queries.
      const S = 64;
      const E = m.config.embedDim;
      const maps = m.strides.map((st) => {
        const n = S / st;
        const v = new Float32Array(2 * n * n * E);
        for (let b = 0; b < 2; b++) {
          for (let y = 0; y < n; y++) {
            for (let x = 0; x < n; x++) {
              const o = ((b * n + y) * n + x) * E;
              const left = x < n / 2;
              if (b === 0 || !left) v[o] = 1;
              else {
                v[o] = 0.6;
                v[o + 1] = 0.8;
              }
            }
          }
        }
        return tf.tensor4d(v, [2, n, n, E]);
      });
      const targets = Float32Array.from([
        0, 0, 32, 32, 20, 20,
        1, 1, 12, 32, 16, 16,
        1, 2, 52, 32, 16, 16,
      ]);
      return {
        batch: { shape: [2, S, S, 3], targets, identity: Int32Array.from([1, 1, 2]), originals: [whole(S, S), whole(S, S)] },
        out: maps,
        expected: { 'metrics/top1(E)': 0.5, 'metrics/mAP(E)': 0.75 },
      };
    },
  },
  count: {
    outputShapes: (m, b) => [[b, m.config.nc]],
    evaluatorCase(m) {
      // Two images, counts per class (first two classes used): truth [2, 1] and [1, 1] (from the target rows);
      // predicted rates [2, 0.4] → [2, 0] and [1, 1.1] → [1, 1]. Absolute errors 0, 1 | 0, 0 (other classes 0):
      // MAE = 1 / (2 images × nc classes); image 1 exact, image 0 not: accuracy 1/2.
      const nc = m.config.nc;
      const rates = new Float32Array(2 * nc).fill(Math.log(0.01));
      rates[0] = Math.log(2);
      rates[1] = Math.log(0.4);
      rates[nc] = Math.log(1);
      rates[nc + 1] = Math.log(1.1);
      const targets = Float32Array.from([
        0, 0, 10, 10, 4, 4,
        0, 0, 20, 20, 4, 4,
        0, 1, 30, 30, 4, 4,
        1, 0, 10, 10, 4, 4,
        1, 1, 20, 20, 4, 4,
      ]);
      return {
        batch: { shape: [2, 64, 64, 3], targets, originals: [whole(64, 64), whole(64, 64)] },
        out: tf.tensor2d(rates, [2, nc]),
        expected: { 'metrics/MAE(N)': 1 / (2 * nc), 'metrics/acc(N)': 0.5 },
      };
    },
  },
};
