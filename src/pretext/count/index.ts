/**
 * Counting (Noroozi, Pirsiavash & Favaro, "Representation Learning by Learning to
 * Count", ICCV 2017): φ maps an image to K non-negative counts of "visual
 * primitives" (the encoder, the globally pooled coarsest feature map, a small
 * MLP, softplus). Counts are invariant to scale and additive over tiles, so the counts
 * of the image downsampled 2× must equal the sum of the counts of its four
 * quadrant tiles, and (the contrastive term, margin M = `--count-margin`, default
 * 10) differ by at least M in squared distance from the counts of another image.
 * See views.ts for the inputs and loss.ts for the loss.
 *
 * Choices: K = 128 counts (the paper has 1000 on top of AlexNet's 4096-wide
 * layers; 128 suits the small encoders here), M keeps the paper's 10. The counts
 * are made non-negative by softplus instead of the paper's ReLU: positive like
 * ReLU but smooth, so a count that is 0 for every input can still learn, and the
 * loss has no kinks for finite-difference checks to trip over. The other image
 * of image i is image i + 1 of the batch (cyclically), so its D(y) is already
 * among the inputs: all 5B views (B downsampled images, 4B tiles) go through the
 * encoder as one batch. A batch of one image has no other image: its
 * colour-inverted copy 1 − x stands in (one extra view, 1 − D(x)), a different
 * image with the same layout; not a flipped or rotated copy, since the counts of
 * those ought to be the same. No accuracy is reported.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PooledMlp, pooledCoarsest } from '../heads.js';
import type { PretextSpec } from '../types.js';
import { countingLoss, nextRows } from './loss.js';
import { countViews } from './views.js';

/** K, the number of counted primitives. */
export const COUNT_FEATURES = 128;

export const countTask: PretextSpec<'count', PooledMlp> = {
  name: 'count',
  description: 'counting: the counts of the image downsampled 2× equal the summed counts of its four tiles, and differ from another image',
  reference: 'Noroozi, Pirsiavash, Favaro, ICCV 2017 (Representation Learning by Learning to Count)',
  module: 'pretext_count',
  defaultWeight: 0.1,
  reportsAccuracy: false,
  buildHead: (ctx) => {
    const c = ctx.channels[ctx.channels.length - 1]!;
    return new PooledMlp(c, c, COUNT_FEATURES, ctx);
  },
  loss({ encoder, head, batch, options }) {
    const b = batch.shape[0];
    const { down, tiles } = countViews(batch, encoder.maxStride);
    const inputs = b === 1 ? [down, tiles, tf.sub(1, down) as tf.Tensor4D] : [down, tiles];
    const phi = tf.softplus(head.forward(pooledCoarsest(encoder.features(tf.concat(inputs, 0)))));
    const k = phi.shape[1];
    const phiDown = tf.slice(phi, [0, 0], [b, k]);
    const phiTiles = tf.slice(phi, [b, 0], [4 * b, k]);
    const phiOther = b === 1 ? tf.slice(phi, [5, 0], [1, k]) : nextRows(phiDown);
    const loss = countingLoss(phiDown, phiTiles, phiOther, options.countMargin);
    return { loss, items: { loss: loss.dataSync()[0]! } };
  },
};
