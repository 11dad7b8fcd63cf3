/**
 * Contrastive learning, SimCLR (Chen, Kornblith, Norouzi & Hinton, "A Simple
 * Framework for Contrastive Learning of Visual Representations", ICML 2020):
 * every image of the batch is shown as two independently augmented views (see
 * augment.ts: random resized crop back to the input side, flip, colour jitter,
 * grey; no blur); the encoder's globally pooled coarsest features h go through
 * the projection head g, a PooledMlp (hidden width = h's, BN and activation, as
 * in SimCLR v2's heads) to z ∈ R^128 (the paper's size); NT-Xent (ntxent.ts) at
 * temperature τ = `--temperature` (default 0.5, the paper's best for its batch
 * sizes) pulls each view to its partner and away from the other 2B − 2 views of
 * the batch, averaged over all 2B anchors. The negatives are the batch's own
 * views: larger batches give more of them (the paper's central finding). All 2B
 * views go through the encoder as one batch (batch norm sees both views, like
 * SimCLR's global BN). Reports acc, the contrastive top-1 accuracy. A batch of
 * one image has no negatives: its loss is 0.
 */
import { PooledMlp, pooledCoarsest } from '../heads.js';
import { batchImage, roundUpTo, stackImages } from '../image-ops.js';
import type { PretextSpec } from '../types.js';
import { simclrView } from './augment.js';
import { ntXent } from './ntxent.js';

/** The size of the projection z (the paper's 128). */
export const PROJECTION_SIZE = 128;

export const contrastiveTask: PretextSpec<'contrastive', PooledMlp> = {
  name: 'contrastive',
  description: 'contrastive (SimCLR): two augmented views of each image, NT-Xent over the batch pulls a view to its partner',
  reference: 'Chen, Kornblith, Norouzi, Hinton, ICML 2020 (SimCLR)',
  module: 'pretext_contrastive',
  defaultWeight: 1,
  reportsAccuracy: true,
  buildHead: (ctx) => {
    const c = ctx.channels[ctx.channels.length - 1]!;
    return new PooledMlp(c, c, PROJECTION_SIZE, ctx);
  },
  loss({ encoder, head, batch, rng, options }) {
    const [b, h, w] = batch.shape;
    const side = roundUpTo(Math.max(h, w), encoder.maxStride);
    const images = Array.from({ length: b }, (_, i) => batchImage(batch, i));
    // Views 0…B−1 first, then B…2B−1 (the layout ntXent expects); the rng draws view by view.
    const views = [...images.map((im) => simclrView(im, side, rng)), ...images.map((im) => simclrView(im, side, rng))];
    const z = head.forward(pooledCoarsest(encoder.features(stackImages(views))));
    const { loss, acc } = ntXent(z, options.temperature);
    return { loss, items: { loss: loss.dataSync()[0]!, acc } };
  },
};
