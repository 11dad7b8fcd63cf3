/**
 * Numerical checks shared by `yolor selftest`, the test suite and, later, the
 * training diagnostics: a kernel against the cpu reference, and an op's gradient
 * against central finite differences.
 */

import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import { registerCpuFixes } from './kernels/index.js';

export interface KernelInput {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface KernelCase {
  kernelName: string;
  detail: string;
  inputs: Record<string, KernelInput>;
  attrs: tf.NamedAttrMap;
  /**
   * Where the cpu backend cannot run the case as is (it ignores dilation in the
   * depthwise gradients), an equivalent case for it and a map from its output to
   * the expected output.
   */
  /**
   * Where the kernel is yolor-ts's own (a fused update), the reference is the composite
   * tfjs ops it replaces, run on the cpu backend.
   */
  composite?: (inputs: Record<string, tf.Tensor>, attrs: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[];
  reference?: {
    kase: Omit<KernelCase, 'reference' | 'detail'>;
    post: (v: Float32Array, shape: number[]) => { values: Float32Array; shape: number[] };
  };
}

/** max |a − b| / max(max |b|, 1e-6): relative to the reference's scale. */
export function relativeMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return Number.NaN;
    diff = Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-6);
}

/**
 * Runs one kernel case. Inputs keyed '0', '1', … are passed as a list (Concat's tensors);
 * a kernel with several outputs (SplitV) gives their values one after another, with the
 * output shapes flattened into one list.
 */
function runOn(kc: Omit<KernelCase, 'reference' | 'detail'>, composite = false): { values: Float32Array | Int32Array | Uint8Array; shape: number[] } {
  // The tensors, not their values, leave tidy: tidy would scan a returned array element by element.
  const outs = tf.tidy(() => {
    const entries = Object.entries(kc.inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape, v.dtype)] as const);
    const listed = entries.length > 0 && entries.every(([k], i) => k === String(i));
    const inputs = listed ? entries.map(([, t]) => t) : Object.fromEntries(entries);
    const out =
      composite && kc.composite
        ? kc.composite(Object.fromEntries(entries), kc.attrs)
        : (tf.engine().runKernel(kc.kernelName, inputs as unknown as tf.NamedTensorMap, kc.attrs) as tf.Tensor | tf.Tensor[]);
    return Array.isArray(out) ? out : [out];
  });
  const parts = outs.map((t) => t.dataSync() as Float32Array);
  const shape = outs.length === 1 ? outs[0]!.shape.slice() : outs.flatMap((t) => [...t.shape, -1]);
  tf.dispose(outs);
  if (parts.length === 1) return { values: parts[0]!, shape };
  const values = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    values.set(p, at);
    at += p.length;
  }
  return { values, shape };
}

/** Runs the kernel on `backend` and on 'cpu'; returns the relative max error (∞ on a shape mismatch). */
export async function compareKernelWithCpu(backend: string, kc: KernelCase): Promise<number> {
  await tf.setBackend(backend);
  const got = runOn(kc);
  registerCpuFixes(); // the reference's own ResizeNearestNeighborGrad is wrong for batches > 1
  await tf.setBackend('cpu');
  let want = kc.composite ? runOn(kc, true) : runOn(kc.reference?.kase ?? kc);
  if (kc.reference) want = kc.reference.post(want.values as Float32Array, want.shape);
  await tf.setBackend(backend);
  if (got.shape.join(',') !== want.shape.join(',')) return Number.POSITIVE_INFINITY;
  return relativeMaxError(got.values, want.values);
}

export interface GradientCase {
  name: string;
  detail: string;
  /** Input shapes; each input is filled with N(0, 1) × scale (or by `init`). */
  shapes: number[][];
  init?: (rng: Rng, index: number, size: number) => Float32Array;
  /** The op under test; must be smooth near the sampled inputs. */
  fn: (...xs: tf.Tensor[]) => tf.Tensor;
  /** Finite-difference step (default 1e-2). */
  eps?: number;
  /** Entries checked per input (default 24). */
  samples?: number;
}

/**
 * Compares tf.grads of Σ R ⊙ fn(x) (R random, fixed) with central differences.
 * The difference fn(x + εe) − fn(x − εe) is projected onto R in float64 in JS,
 * which keeps the float32 round-off of the sum out of the estimate.
 * Returns ‖numeric − analytic‖₂ / max(‖numeric‖₂, ‖analytic‖₂, 1e-3).
 */
export function finiteDifferenceCheck(gc: GradientCase, rng: Rng): number {
  const eps = gc.eps ?? 1e-2;
  const samples = gc.samples ?? 24;
  const inputs = gc.shapes.map((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return gc.init ? gc.init(rng, i, size) : rng.normalArray(size);
  });
  const outShape = tf.tidy(() => gc.fn(...inputs.map((v, i) => tf.tensor(v, gc.shapes[i]))).shape);
  const r = rng.normalArray(outShape.reduce((a, b) => a * b, 1));
  const grads = tf.tidy(() => {
    const xs = inputs.map((v, i) => tf.tensor(v, gc.shapes[i]));
    const rt = tf.tensor(r, outShape);
    return tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(gc.fn(...ts), rt)))(xs);
  });
  const analytic = grads.map((t) => t.dataSync() as Float32Array);
  tf.dispose(grads);
  const evalAt = (vals: Float32Array[]): Float32Array => {
    const y = tf.tidy(() => gc.fn(...vals.map((v, i) => tf.tensor(v, gc.shapes[i]))));
    const values = y.dataSync() as Float32Array;
    y.dispose();
    return values;
  };
  let num2 = 0;
  let ana2 = 0;
  let diff2 = 0;
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i]!;
    const picks = new Set<number>();
    const want = Math.min(samples, x.length);
    while (picks.size < want) picks.add(rng.int(0, x.length - 1));
    for (const k of picks) {
      const orig = x[k]!;
      x[k] = orig + eps;
      const hi = x[k]!; // the step actually taken, after float32 rounding
      const up = evalAt(inputs);
      x[k] = orig - eps;
      const lo = x[k]!;
      const down = evalAt(inputs);
      x[k] = orig;
      let d = 0;
      for (let j = 0; j < r.length; j++) d += r[j]! * (up[j]! - down[j]!);
      const numeric = d / (hi - lo);
      const a = analytic[i]![k]!;
      num2 += numeric * numeric;
      ana2 += a * a;
      diff2 += (numeric - a) * (numeric - a);
    }
  }
  const err = Math.sqrt(diff2) / Math.max(Math.sqrt(num2), Math.sqrt(ana2), 1e-3);
  return Number.isFinite(err) ? err : Number.POSITIVE_INFINITY;
}
