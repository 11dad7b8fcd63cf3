/**
 * Pure helpers of the NHWC → NCHW layout pass: permutations, permuting the
 * values of a constant, and TF-exact explicit padding for convolutions and
 * pools (SAME puts the odd pixel at the end, as ONNX's SAME_UPPER; the
 * explicit pads are written out so no runtime has to re-derive them).
 */

/** perm that turns an NHWC tensor into NCHW (out dim i = in dim perm[i]). */
export const TO_NCHW = [0, 3, 1, 2] as const;
/** perm that turns an NCHW tensor back into NHWC. */
export const TO_NHWC = [0, 2, 3, 1] as const;

/** The NCHW position of NHWC axis `a` (0..3). */
export function nchwAxis(a: number): number {
  return TO_NCHW.indexOf(a as 0 | 1 | 2 | 3);
}

/** Normalises a possibly negative axis for rank `rank`; null when out of range. */
export function normAxis(axis: number, rank: number): number | null {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : null;
}

export type TypedValues = Float32Array | Int32Array | Uint8Array;

/** Transposes row-major `values` of `shape` by `perm` (out dim i = in dim perm[i]). */
export function permuteValues<T extends TypedValues>(values: T, shape: readonly number[], perm: readonly number[]): { values: T; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * shape[i + 1]!;
  const stride = perm.map((p) => inStrides[p]!);
  const out = new (values.constructor as { new (n: number): T })(values.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < values.length; o++) {
    out[o] = values[src]!;
    // Increment the output multi-index (last dim fastest), tracking the source offset.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += stride[d]!;
      if (idx[d]! < outShape[d]!) break;
      src -= stride[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
  return { values: out, shape: outShape };
}

/** A pair attribute given as a number or [h, w]. */
export function pair(v: unknown, dflt: number): [number, number] | null {
  if (v === undefined || v === null) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0] as number, v[1] as number];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return [v[0], v[0]];
  return null;
}

/**
 * ONNX pads [top, left, bottom, right] for a tfjs `pad` attribute ('same',
 * 'valid', a number, or explicit NHWC pairs), or a reason string when the
 * attribute cannot be expressed.
 */
export function explicitPads(
  pad: unknown,
  inHW: readonly [number, number],
  k: readonly [number, number],
  s: readonly [number, number],
  d: readonly [number, number],
): [number, number, number, number] | string {
  if (pad === 'valid') return [0, 0, 0, 0];
  if (pad === 'same') {
    const p: number[] = [];
    for (let i = 0; i < 2; i++) {
      const out = Math.ceil(inHW[i]! / s[i]!);
      const eff = (k[i]! - 1) * d[i]! + 1;
      const total = Math.max((out - 1) * s[i]! + eff - inHW[i]!, 0);
      p.push(Math.floor(total / 2), total - Math.floor(total / 2));
    }
    return [p[0]!, p[2]!, p[1]!, p[3]!];
  }
  if (typeof pad === 'number' && Number.isInteger(pad) && pad >= 0) return [pad, pad, pad, pad];
  if (
    Array.isArray(pad) &&
    pad.length === 4 &&
    pad.every((q) => Array.isArray(q) && q.length === 2 && q.every((v) => Number.isInteger(v) && v >= 0))
  ) {
    const q = pad as number[][];
    if (q[0]![0] !== 0 || q[0]![1] !== 0 || q[3]![0] !== 0 || q[3]![1] !== 0) return `pads the batch or channel axis (${JSON.stringify(pad)})`;
    return [q[1]![0]!, q[2]![0]!, q[1]![1]!, q[2]![1]!];
  }
  return `has an unsupported pad attribute ${JSON.stringify(pad)}`;
}

/** ONNX's output size of a conv / pool along one axis (floor rounding). */
export function onnxOutSize(inSize: number, k: number, s: number, d: number, padBegin: number, padEnd: number): number {
  return Math.floor((inSize + padBegin + padEnd - ((k - 1) * d + 1)) / s) + 1;
}
