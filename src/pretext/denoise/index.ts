/**
 * Denoising (Vincent, Larochelle, Bengio & Manzagol, "Extracting and Composing
 * Robust Features with Denoising Autoencoders", ICML 2008): the network sees each
 * image corrupted by independent Gaussian noise (std `--noise-std`, 0.1 of the 0–1
 * range by default; the noisy image clipped to [0, 1]) and reconstructs the clean
 * image at full resolution, by a PixelDecoder on the finest shared level (3×3 conv
 * → 1×1 conv to stride²·3 → depth-to-space) with a plain linear output (no sigmoid:
 * the targets lie in [0, 1] and a linear output keeps the gradient alive at the
 * extremes). Loss: mean squared error over every pixel and channel. No skip from
 * input to output, so the reconstruction has to come through the representation.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../util/rng.js';
import { PixelDecoder } from '../heads.js';
import type { PretextSpec } from '../types.js';

/** `data` + N(0, std²) noise, clipped to [0, 1] (Box–Muller, both outputs used). */
export function noisyCopy(data: Float32Array, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(data.length);
  const clip = (v: number): number => Math.min(Math.max(v, 0), 1);
  for (let i = 0; i < data.length; i += 2) {
    const r = std * Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12)));
    const t = 2 * Math.PI * rng.next();
    out[i] = clip(data[i]! + r * Math.cos(t));
    if (i + 1 < data.length) out[i + 1] = clip(data[i + 1]! + r * Math.sin(t));
  }
  return out;
}

export const denoiseTask: PretextSpec<'denoise', PixelDecoder> = {
  name: 'denoise',
  description: 'denoising autoencoder: the image plus Gaussian noise in, the clean image out (mean squared error)',
  reference: 'Vincent, Larochelle, Bengio, Manzagol, ICML 2008 (denoising autoencoders)',
  module: 'pretext_denoise',
  defaultWeight: 1,
  reportsAccuracy: false,
  buildHead: (ctx) => new PixelDecoder(ctx.channels[0]!, ctx.strides[0]!, 3, ctx),
  loss({ encoder, head, batch, rng, options }) {
    const noisy = tf.tensor4d(noisyCopy(batch.images, options.noiseStd, rng), batch.shape);
    const pred = head.forward(encoder.features(noisy)[0]!);
    // Rows first, then overall: one flat float32 sum over every pixel would drown small changes of the loss in rounding.
    const loss = tf.mean(tf.mean(tf.squaredDifference(pred, tf.tensor4d(batch.images, batch.shape)), [2, 3])) as tf.Scalar;
    return { loss, items: { loss: loss.dataSync()[0]! } };
  },
};
