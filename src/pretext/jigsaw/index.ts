/**
 * Jigsaw puzzles (Noroozi & Favaro, "Unsupervised Learning of Visual
 * Representations by Solving Jigsaw Puzzles", ECCV 2016): each image is cut into
 * 3 × 3 tiles (tiles.ts: jittered inside their cells, with gaps, normalised each
 * on its own), the tiles are shuffled by one permutation of a fixed set of N
 * (permutations.ts: greedy maximal minimum Hamming distance, the task's state,
 * stored in checkpoints), and the network names the permutation.
 *
 * The head is the paper's context-free network: every tile goes alone through
 * the shared encoder (all 9·B tiles in one batch), its coarsest map is pooled
 * and projected per tile (1×1 conv, BN, activation, to min(C, 256) features: the
 * paper's shared fc6); the 9 tile vectors, concatenated in slot order, are
 * classified into N by a small MLP (hidden 4 × the tile width: fc7, fc8).
 * Options: `jigsawPermutations` (N, default 100; the paper's 1000 works too).
 * The puzzle is drawn per image (permutation uniform over the set, fresh tile
 * jitter each step). Not done: the paper's per-channel colour jitter of tiles.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConvBnAct } from '../../nn/conv.js';
import { type BuildContext, Module } from '../../nn/module.js';
import { PooledMlp, pooledCoarsest, softmaxCrossEntropy } from '../heads.js';
import { batchImage, type FloatImage, normaliseEach, stackImages } from '../image-ops.js';
import type { PretextSpec } from '../types.js';
import { checkPermutationSet, maxHammingPermutations, TILES } from './permutations.js';
import { jigsawGeometry, shuffledTiles, tileBoxes } from './tiles.js';

/** Width of a tile's vector (at most; the coarsest channels when fewer): 9 of them feed a 4× as wide hidden layer. */
const TILE_FEATURES = 256;

/** Pooled tile features [9·B, C] (image-major, slot order) → per-tile projection → concatenation [B, 9·D] → N logits. */
export class JigsawHead extends Module {
  private readonly tile: ConvBnAct;
  private readonly classifier: PooledMlp;

  constructor(
    readonly inFeatures: number,
    readonly tileFeatures: number,
    readonly classes: number,
    ctx: BuildContext,
  ) {
    super();
    this.tile = this.addModule('tile', new ConvBnAct(inFeatures, tileFeatures, { k: 1, act: ctx.act, rng: ctx.rng }));
    this.classifier = this.addModule('classifier', new PooledMlp(TILES * tileFeatures, 4 * tileFeatures, classes, ctx));
  }

  override get typeName(): string {
    return 'JigsawHead';
  }

  forward(pooled: tf.Tensor2D): tf.Tensor2D {
    const [n, c] = pooled.shape;
    if (c !== this.inFeatures || n % TILES !== 0)
      throw new Error(`${this.path || 'JigsawHead'}: ${n}×${c} tile features (expected 9·B × ${this.inFeatures})`);
    const t = this.tile.forward(tf.reshape(pooled, [n, 1, 1, c]) as tf.Tensor4D);
    return this.classifier.forward(tf.reshape(t, [n / TILES, TILES * this.tileFeatures]) as tf.Tensor2D);
  }
}

export const jigsawTask: PretextSpec<'jigsaw', JigsawHead, number[][]> = {
  name: 'jigsaw',
  description: 'jigsaw puzzles: 3×3 jittered tiles shuffled by one of N maximal-Hamming permutations, the permutation classified',
  reference: 'Noroozi, Favaro, ECCV 2016 (Jigsaw puzzles, context-free network)',
  module: 'pretext_jigsaw',
  defaultWeight: 1,
  reportsAccuracy: true,
  init: (options, rng) => maxHammingPermutations(options.jigsawPermutations, rng),
  checkState: (state, where) => checkPermutationSet(state, where),
  buildHead: (ctx, state) => {
    const c = ctx.channels[ctx.channels.length - 1]!;
    return new JigsawHead(c, Math.min(c, TILE_FEATURES), checkPermutationSet(state, 'jigsaw head').length, ctx);
  },
  loss({ encoder, head, batch, rng, state }) {
    const [b, h, w] = batch.shape;
    const g = jigsawGeometry(w, h, encoder.maxStride);
    const tiles: FloatImage[] = [];
    const targets = new Int32Array(b);
    for (let i = 0; i < b; i++) {
      const t = rng.int(0, state.length - 1);
      targets[i] = t;
      for (const tile of shuffledTiles(batchImage(batch, i), state[t]!, tileBoxes(g, rng), g)) tiles.push(normaliseEach(tile));
    }
    const logits = head.forward(pooledCoarsest(encoder.features(stackImages(tiles))));
    const { loss, acc } = softmaxCrossEntropy(logits, targets);
    return { loss, items: { loss: loss.dataSync()[0]!, acc } };
  },
};
