/**
 * Inpainting (Pathak, Krähenbühl, Donahue, Darrell & Efros, "Context Encoders:
 * Feature Learning by Inpainting", CVPR 2016), the reconstruction loss only (no
 * adversarial term). The centre of each image, a square of half its side (the
 * paper's central-region mask), is filled with the image's mean colour over the
 * visible part, per channel (the paper fills with the dataset's mean pixel; the
 * image's own visible mean needs no dataset statistic and, unlike the mean of the
 * whole image, tells nothing of the hidden content). A PixelDecoder on the finest
 * shared level predicts the full-resolution image (linear output) and the loss is
 * taken over the hidden square only: L2 (mean squared error, default) or L1
 * (`--inpaint-loss l1`). The paper's overlap band (its released code predicts a
 * few pixels of context around the hole with 10× weight) is left out: the loss is
 * about the missing content alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PixelDecoder } from '../heads.js';
import type { PretextBatch, PretextSpec } from '../types.js';

/** The hidden square of an h×w image: rows y0…y0+h2−1, columns x0…x0+w2−1 (half of each side, centred). */
export function centreBox(h: number, w: number): { y0: number; x0: number; h: number; w: number } {
  const bh = Math.floor(h / 2);
  const bw = Math.floor(w / 2);
  return { y0: Math.floor((h - bh) / 2), x0: Math.floor((w - bw) / 2), h: bh, w: bw };
}

/** A copy of the batch's images with each centre square filled with that image's mean over the rest, per channel. */
export function maskCentre(batch: PretextBatch): Float32Array {
  const [b, h, w, c] = batch.shape;
  const box = centreBox(h, w);
  const out = batch.images.slice();
  const inside = (y: number, x: number): boolean => y >= box.y0 && y < box.y0 + box.h && x >= box.x0 && x < box.x0 + box.w;
  const mean = new Float64Array(c);
  for (let i = 0; i < b; i++) {
    mean.fill(0);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) if (!inside(y, x)) for (let k = 0; k < c; k++) mean[k]! += out[((i * h + y) * w + x) * c + k]!;
    const visible = h * w - box.h * box.w;
    for (let y = box.y0; y < box.y0 + box.h; y++)
      for (let x = box.x0; x < box.x0 + box.w; x++) for (let k = 0; k < c; k++) out[((i * h + y) * w + x) * c + k] = mean[k]! / visible;
  }
  return out;
}

/** Mean L2 (squared) or L1 error of `pred` against `target` over the centre square only. */
export function centreLoss(pred: tf.Tensor4D, target: tf.Tensor4D, kind: 'l2' | 'l1'): tf.Scalar {
  return tf.tidy(() => {
    const [b, h, w, c] = target.shape;
    const box = centreBox(h, w);
    const cut = (t: tf.Tensor4D): tf.Tensor4D => tf.slice(t, [0, box.y0, box.x0, 0], [b, box.h, box.w, c]);
    const d = tf.sub(cut(pred), cut(target));
    // Rows first, then overall (float32 accuracy of the mean).
    return tf.mean(tf.mean(kind === 'l1' ? tf.abs(d) : tf.square(d), [2, 3])) as tf.Scalar;
  });
}

export const inpaintTask: PretextSpec<'inpaint', PixelDecoder> = {
  name: 'inpaint',
  description: 'inpainting (context encoder): the centre square hidden, its pixels reconstructed (L2 or L1, no adversarial term)',
  reference: 'Pathak, Krähenbühl, Donahue, Darrell, Efros, CVPR 2016 (Context Encoders)',
  module: 'pretext_inpaint',
  defaultWeight: 1,
  reportsAccuracy: false,
  buildHead: (ctx) => new PixelDecoder(ctx.channels[0]!, ctx.strides[0]!, 3, ctx),
  loss({ encoder, head, batch, options }) {
    const pred = head.forward(encoder.features(tf.tensor4d(maskCentre(batch), batch.shape))[0]!);
    const loss = centreLoss(pred, tf.tensor4d(batch.images, batch.shape), options.inpaintLoss);
    return { loss, items: { loss: loss.dataSync()[0]! } };
  },
};
