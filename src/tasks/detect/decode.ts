/**
 * Decoding of raw detection head maps into boxes.
 *
 * Each level's map is [B, H, W, na·(5+nc)] (NHWC), per anchor the channels
 * [tx, ty, tw, th, obj, cls_0 … cls_{nc−1}]. Decoded rows are
 * [cx, cy, w, h, obj, cls…] with the box centre/size in input pixels and
 * objectness and class scores passed through a sigmoid (multi-label classes).
 *
 *   v3:      cx = (σ(tx) + gx)·s,        w = aw·exp(tw)
 *   scaled:  cx = (2σ(tx) − 0.5 + gx)·s, w = aw·(2σ(tw))²     (YOLOv4-CSP / v5 / YOLOR)
 *
 * Rows are ordered level by level, then row-major over cells (y, x), then by
 * anchor: row = levelOffset + (y·W + x)·na + a, with levelOffset = Σ of the
 * previous levels' H·W·na.
 */
import * as tf from '@tensorflow/tfjs-core';

export type DecodeRule = 'v3' | 'scaled';
export const DECODE_RULES: readonly DecodeRule[] = ['v3', 'scaled'];

export interface DecodeOptions {
  rule: DecodeRule;
}

/** Per-level anchors in input pixels: levels × na × (w, h). */
export type DecodeAnchors = ReadonlyArray<ReadonlyArray<ArrayLike<number>>>;

function checkRule(rule: unknown): asserts rule is DecodeRule {
  if (!DECODE_RULES.includes(rule as DecodeRule)) {
    throw new Error(`unknown decode rule '${String(rule)}' (expected one of ${DECODE_RULES.join(', ')})`);
  }
}

/**
 * Decodes all levels into one tensor [B, Σ H·W·na, 5+nc]. The inputs are not
 * disposed; the result is a new tensor owned by the caller.
 */
export function decodePredictions(
  maps: readonly tf.Tensor4D[],
  anchors: DecodeAnchors,
  strides: readonly number[],
  options: DecodeOptions,
): tf.Tensor3D {
  const rule = options.rule;
  checkRule(rule);
  if (maps.length === 0) throw new Error('decodePredictions: no maps');
  if (anchors.length !== maps.length || strides.length !== maps.length) {
    throw new Error(`decodePredictions: ${maps.length} maps but ${anchors.length} anchor levels and ${strides.length} strides`);
  }
  const batch = maps[0]!.shape[0];
  let no = -1;
  maps.forEach((m, l) => {
    if (m.rank !== 4) throw new Error(`decodePredictions: map ${l} has rank ${m.rank}, expected 4 (NHWC)`);
    const na = anchors[l]!.length;
    const c = m.shape[3];
    if (na === 0 || c % na !== 0 || c / na < 5) {
      throw new Error(`decodePredictions: map ${l} has ${c} channels, not a multiple na·(5+nc) of na=${na}`);
    }
    if (no === -1) no = c / na;
    else if (c / na !== no) throw new Error(`decodePredictions: map ${l} has ${c / na} channels per anchor, expected ${no}`);
    if (m.shape[0] !== batch) throw new Error(`decodePredictions: map ${l} has batch ${m.shape[0]}, expected ${batch}`);
  });

  return tf.tidy(() => {
    // Elementwise only (no split or slice of the 5-D map: slow on wasm and awkward to export):
    //   scaled: out = σ(t)·A + σ(t)²·W + C    with per channel A = [2s, 2s, 0, 0, 1…], W = [0, 0, 4aw, 4ah, 0…],
    //                                          C = [(gx − ½)·s, (gy − ½)·s, 0, 0, 0…]
    //   v3:     out = σ(t)·A + exp(t·M)·W + C  with A = [s, s, 0, 0, 1…], W = [0, 0, aw, ah, 0…], M = [0, 0, 1, 1, 0…],
    //                                          C = [gx·s, gy·s, 0, 0, 0…]   (M keeps exp away from the other channels)
    const levels = maps.map((map, l) => {
      const [b, h, w] = map.shape;
      const na = anchors[l]!.length;
      const s = strides[l]!;
      const scaled = rule === 'scaled';
      const A = new Float32Array(no).fill(1);
      A[0] = A[1] = scaled ? 2 * s : s;
      A[2] = A[3] = 0;
      const W = new Float32Array(na * no);
      anchors[l]!.forEach((a, i) => {
        W[i * no + 2] = (scaled ? 4 : 1) * a[0]!;
        W[i * no + 3] = (scaled ? 4 : 1) * a[1]!;
      });
      const C = new Float32Array(h * w * no);
      const off = scaled ? -0.5 : 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const o = (y * w + x) * no;
          C[o] = (x + off) * s;
          C[o + 1] = (y + off) * s;
        }
      }
      const t = tf.reshape(tf.cast(map, 'float32'), [b, h, w, na, no]);
      const sig = tf.sigmoid(t);
      const At = tf.tensor(A, [1, 1, 1, 1, no]);
      const Wt = tf.tensor(W, [1, 1, 1, na, no]);
      const Ct = tf.tensor(C, [1, h, w, 1, no]);
      let wh: tf.Tensor;
      if (scaled) {
        wh = tf.mul(tf.square(sig), Wt);
      } else {
        const M = new Float32Array(no);
        M[2] = M[3] = 1;
        wh = tf.mul(tf.exp(tf.mul(t, tf.tensor(M, [1, 1, 1, 1, no]))), Wt);
      }
      const out = tf.add(tf.add(tf.mul(sig, At), wh), Ct);
      return tf.reshape(out, [b, h * w * na, no]);
    });
    return (levels.length === 1 ? levels[0]! : tf.concat(levels, 1)) as tf.Tensor3D;
  });
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * Pure-JS reference decode of one anchor at cell (gx, gy): `raw` holds the
 * 5+nc raw channels of that anchor; returns [cx, cy, w, h, obj, cls…].
 */
export function decodeCell(
  raw: ArrayLike<number>,
  gx: number,
  gy: number,
  anchor: ArrayLike<number>,
  stride: number,
  rule: DecodeRule,
): Float32Array {
  checkRule(rule);
  const no = raw.length;
  if (no < 5) throw new Error(`decodeCell: expected at least 5 channels; got ${no}`);
  const out = new Float32Array(no);
  const aw = anchor[0]!,
    ah = anchor[1]!;
  if (rule === 'v3') {
    out[0] = (sigmoid(raw[0]!) + gx) * stride;
    out[1] = (sigmoid(raw[1]!) + gy) * stride;
    out[2] = aw * Math.exp(raw[2]!);
    out[3] = ah * Math.exp(raw[3]!);
  } else {
    out[0] = (2 * sigmoid(raw[0]!) - 0.5 + gx) * stride;
    out[1] = (2 * sigmoid(raw[1]!) - 0.5 + gy) * stride;
    out[2] = aw * (2 * sigmoid(raw[2]!)) ** 2;
    out[3] = ah * (2 * sigmoid(raw[3]!)) ** 2;
  }
  for (let c = 4; c < no; c++) out[c] = sigmoid(raw[c]!);
  return out;
}

/** Number of decoded rows for maps of the given spatial sizes: Σ H·W·na. */
export function decodedRowCount(sizes: ReadonlyArray<readonly [number, number]>, anchors: DecodeAnchors): number {
  return sizes.reduce((n, [h, w], l) => n + h * w * (anchors[l]?.length ?? 0), 0);
}
