/**
 * Bilinear resizing with half-pixel centres (the geometry of PyTorch's
 * `align_corners=False` and TF's `half_pixel_centers=True`) written as two
 * interpolation matrices, Y = A_h · X · A_wᵀ per image and channel. Its gradient
 * is then the exact transpose, through matMul and transpose: tfjs 4.22's
 * ResizeBilinearGrad ignores `halfPixelCenters` and returns the gradient of the
 * other sampling (a half-cell shift), which would train a segmentation head
 * against misplaced targets. Forward values equal tf.image.resizeBilinear(x,
 * size, false, true).
 */
import * as tf from '@tensorflow/tfjs-core';

/** The [out, in] interpolation matrix of one axis (TF's half-pixel-centre bilinear rule, edges clamped). */
export function bilinearMatrix(inSize: number, outSize: number): Float32Array {
  const a = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = scale * (o + 0.5) - 0.5;
    const lo = Math.max(0, Math.floor(src));
    const hi = Math.min(inSize - 1, Math.ceil(src));
    const frac = src - Math.floor(src);
    a[o * inSize + lo]! += 1 - frac;
    a[o * inSize + hi]! += frac;
  }
  return a;
}

/** Resizes NHWC `x` to `size` = [H, W] bilinearly with half-pixel centres; differentiable with the true gradient. */
export function resizeBilinearHalfPixel(x: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const [H, W] = size;
  return tf.tidy(() => {
    // Rows: [h, B·w·C] → A_h · → [H, B·w·C].
    const ah = tf.tensor2d(bilinearMatrix(h, H), [H, h]);
    const rows = tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, b * w * c]);
    const y1 = tf.reshape(tf.matMul(ah, rows), [H, b, w, c]);
    // Columns: [w, B·H·C] → A_w · → [W, B·H·C].
    const aw = tf.tensor2d(bilinearMatrix(w, W), [W, w]);
    const cols = tf.reshape(tf.transpose(y1, [2, 1, 0, 3]), [w, b * H * c]);
    const y2 = tf.reshape(tf.matMul(aw, cols), [W, b, H, c]);
    return tf.transpose(y2, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}
