/**
 * Rotation prediction (Gidaris et al., "Unsupervised Representation Learning by
 * Predicting Image Rotations", ICLR 2018): every image of the batch is shown in
 * all four rotations (0°, 90°, 180°, 270°) in the same batch, as the RotNet paper
 * found best, and the network classifies which rotation it sees, from the
 * globally pooled coarsest feature map through a small MLP.
 */
import { PooledMlp, pooledCoarsest, softmaxCrossEntropy } from '../heads.js';
import { batchImage, rotate90, stackImages } from '../image-ops.js';
import type { PretextSpec } from '../types.js';

export const rotationTask: PretextSpec<'rotation', PooledMlp> = {
  name: 'rotation',
  description: 'rotation prediction: all four rotations of each image in the batch, classified into 0/90/180/270°',
  reference: 'Gidaris, Singh, Komodakis, ICLR 2018 (RotNet)',
  module: 'pretext_rotation',
  defaultWeight: 1,
  reportsAccuracy: true,
  buildHead: (ctx) => {
    const c = ctx.channels[ctx.channels.length - 1]!;
    return new PooledMlp(c, c, 4, ctx);
  },
  loss({ encoder, head, batch }) {
    const b = batch.shape[0];
    const views = [];
    const targets = new Int32Array(4 * b);
    for (let i = 0; i < b; i++) {
      const img = batchImage(batch, i);
      for (let k = 0; k < 4; k++) {
        views.push(rotate90(img, k));
        targets[i * 4 + k] = k;
      }
    }
    const logits = head.forward(pooledCoarsest(encoder.features(stackImages(views))));
    const { loss, acc } = softmaxCrossEntropy(logits, targets);
    return { loss, items: { loss: loss.dataSync()[0]!, acc } };
  },
};
