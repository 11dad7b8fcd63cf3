/**
 * Relative patch location (Doersch, Gupta & Efros, "Unsupervised Visual
 * Representation Learning by Context Prediction", ICCV 2015): from each image a
 * centre patch and one of its 8 neighbours of a 3 × 3 layout with gaps and
 * jitter (patches.ts), each treated against chromatic aberration (colour
 * dropping or grey, half and half), resized to a multiple of the encoder's
 * stride and normalised on its own; the network says where the neighbour lies
 * (8 classes).
 *
 * The head is the paper's late-fusion pair network: both patches go through the
 * shared encoder (one batch of 2·B: centres, then neighbours), each coarsest map
 * is pooled, and the two vectors, concatenated [centre, neighbour], are
 * classified by a small MLP (hidden 2·C). No options. Not done: the paper's
 * random downsampling of some patches to ~100 pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PooledMlp, pooledCoarsest, softmaxCrossEntropy } from '../heads.js';
import { batchImage, cropResize, type FloatImage, normaliseEach, roundUpTo, stackImages } from '../image-ops.js';
import type { PretextSpec } from '../types.js';
import { dechromatise, NEIGHBOURS, patchGeometry, patchPair } from './patches.js';

export const patchLocationTask: PretextSpec<'patch-location', PooledMlp> = {
  name: 'patch-location',
  description: 'relative patch location: a centre patch and one of its 8 neighbours (gaps, jitter, colour dropping), the position classified',
  reference: 'Doersch, Gupta, Efros, ICCV 2015 (context prediction)',
  module: 'pretext_patch_location',
  defaultWeight: 1,
  reportsAccuracy: true,
  buildHead: (ctx) => {
    const c = ctx.channels[ctx.channels.length - 1]!;
    return new PooledMlp(2 * c, 2 * c, NEIGHBOURS.length, ctx);
  },
  loss({ encoder, head, batch, rng }) {
    const [b, h, w] = batch.shape;
    const size = Math.min(h, w);
    const g = patchGeometry(size);
    const input = roundUpTo(g.patch, encoder.maxStride);
    const centres: FloatImage[] = [];
    const neighbours: FloatImage[] = [];
    const targets = new Int32Array(b);
    const cut = (img: FloatImage, at: { x: number; y: number }): FloatImage =>
      normaliseEach(dechromatise(cropResize(img, at.x, at.y, g.patch, g.patch, input, input), rng).image);
    for (let i = 0; i < b; i++) {
      const img = batchImage(batch, i);
      const pair = patchPair(g, size, rng);
      targets[i] = pair.label;
      centres.push(cut(img, pair.centre));
      neighbours.push(cut(img, pair.neighbour));
    }
    const pooled = pooledCoarsest(encoder.features(stackImages([...centres, ...neighbours])));
    const c = pooled.shape[1];
    const pairs = tf.concat([tf.slice(pooled, [0, 0], [b, c]), tf.slice(pooled, [b, 0], [b, c])], 1) as tf.Tensor2D;
    const { loss, acc } = softmaxCrossEntropy(head.forward(pairs), targets);
    return { loss, items: { loss: loss.dataSync()[0]!, acc } };
  },
};
