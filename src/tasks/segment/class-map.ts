/**
 * Class maps from segmentation logits, in the original image's frame: the
 * per-pixel argmax over classes (0 background, c + 1 class c; ties go to the
 * lower class, as tf.argMax), and the map of a letterboxed input mapped back
 * to the original image by nearest neighbour at pixel centres. `yolor
 * predict` (train/predict-tasks.ts) and the browser demo both use these, so
 * their overlays are the same map. No tfjs, no Node: plain arrays.
 */

/** Where the image sits in the letterboxed input: gain and left/top padding. */
export interface LetterboxPlacement {
  scale: number;
  padX: number;
  padY: number;
}

/** Argmax over the last axis of row-major [N, k] scores (N pixels): one class per pixel. */
export function argmaxClasses(scores: ArrayLike<number>, k: number): Uint8Array {
  if (k < 1 || k > 256 || scores.length % k !== 0) throw new Error(`argmaxClasses: ${scores.length} scores are not N × ${k} (1 ≤ k ≤ 256)`);
  const n = scores.length / k;
  const out = new Uint8Array(n);
  for (let p = 0, o = 0; p < n; p++, o += k) {
    let best = 0;
    let max = scores[o]!;
    for (let c = 1; c < k; c++) {
      const v = scores[o + c]!;
      if (v > max) {
        max = v;
        best = c;
      }
    }
    out[p] = best;
  }
  return out;
}

/**
 * The class map of a `width` × `height` image from the class map of its
 * letterboxed input (`inW` × `inH`): each image pixel takes the class of the
 * input pixel under its centre.
 */
export function unletterboxClassMap(
  cls: ArrayLike<number>,
  inW: number,
  inH: number,
  lb: LetterboxPlacement,
  width: number,
  height: number,
): Uint8Array {
  if (cls.length !== inW * inH) throw new Error(`unletterboxClassMap: ${cls.length} classes for a ${inW}×${inH} input`);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const ly = Math.min(inH - 1, Math.max(0, Math.floor((y + 0.5) * lb.scale + lb.padY)));
    for (let x = 0; x < width; x++) {
      const lx = Math.min(inW - 1, Math.max(0, Math.floor((x + 0.5) * lb.scale + lb.padX)));
      out[y * width + x] = cls[ly * inW + lx]!;
    }
  }
  return out;
}
