/**
 * One kernel per variable for the optimiser's and EMA's updates, in place of the ~12
 * (SGD) and ~5 (EMA) engine calls of the composite ops: a training step updates ~200
 * variables, and on a small image size the engine's per-call overhead of those updates is
 * a sizeable share of the step. The arithmetic is the composite ops' own, in float32, in
 * their order (each product and sum rounded to float32; `Math.fround` on a double result
 * of float32 operands is the correctly rounded float32 result), so a run is bit-identical
 * with or without them.
 *
 *   YolorSgdStep  {x, m, g}, {lr, momentum, weightDecay} → [x', m']   (Nesterov SGD, as train/optimizer.ts)
 *     g₁ = g + x·wd (wd > 0);  m' = m·μ + g₁;  x' = x − (g₁ + m'·μ)·lr
 *   YolorEmaStep  {shadow, x}, {decay} → shadow·d + x·(1 − d)
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { isHeapBackend } from './heap-views.js';

export const SGD_STEP = 'YolorSgdStep';
export const EMA_STEP = 'YolorEmaStep';

export interface SgdStepAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
}

const f = Math.fround;

/** Outputs of `shape` and float32 views of them and of `inputs` (heap views on wasm; copies elsewhere, written back by commit). */
function buffers(backend: KernelBackend, shape: number[], outputs: number, inputs: TensorInfo[]) {
  const size = shape.reduce((a, b) => a * b, 1);
  if (isHeapBackend(backend)) {
    const outs = Array.from({ length: outputs }, () => backend.makeOutput(shape, 'float32'));
    return {
      outs,
      outValues: outs.map((o) => backend.typedArrayFromHeap(o) as Float32Array),
      inValues: inputs.map((t) => backend.typedArrayFromHeap(t) as Float32Array),
      commit: () => outs,
    };
  }
  const outValues = Array.from({ length: outputs }, () => new Float32Array(size));
  return {
    outs: [] as TensorInfo[],
    outValues,
    inValues: inputs.map((t) => backend.readSync(t.dataId) as Float32Array),
    commit: () => outValues.map((v) => ({ dataId: backend.write(v, shape, 'float32'), shape, dtype: 'float32' as const })),
  };
}

export function sgdStepConfig(backendName: string): KernelConfig {
  const kernelFunc = (({ inputs, backend, attrs }) => {
    const { x, m, g } = inputs as { x: TensorInfo; m: TensorInfo; g: TensorInfo };
    const { lr, momentum, weightDecay } = attrs as unknown as SgdStepAttrs;
    const b = buffers(backend as KernelBackend, x.shape.slice(), 2, [x, m, g]);
    const [xs, ms, gs] = b.inValues as [Float32Array, Float32Array, Float32Array];
    const [xo, mo] = b.outValues as [Float32Array, Float32Array];
    const lrf = f(lr);
    const mu = f(momentum);
    const wd = f(weightDecay);
    const decay = weightDecay > 0;
    for (let i = 0; i < xs.length; i++) {
      const xi = xs[i]!;
      const g1 = decay ? f(gs[i]! + f(xi * wd)) : gs[i]!;
      const v = f(f(ms[i]! * mu) + g1);
      mo[i] = v;
      xo[i] = f(xi - f(f(g1 + f(v * mu)) * lrf));
    }
    return b.commit();
  }) as KernelFunc;
  return { kernelName: SGD_STEP, backendName, kernelFunc };
}

export function emaStepConfig(backendName: string): KernelConfig {
  const kernelFunc = (({ inputs, backend, attrs }) => {
    const { shadow, x } = inputs as { shadow: TensorInfo; x: TensorInfo };
    const { decay } = attrs as unknown as { decay: number };
    const b = buffers(backend as KernelBackend, x.shape.slice(), 1, [shadow, x]);
    const [ss, xs] = b.inValues as [Float32Array, Float32Array];
    const out = b.outValues[0]!;
    const d = f(decay);
    const e = f(1 - decay);
    for (let i = 0; i < ss.length; i++) out[i] = f(f(ss[i]! * d) + f(xs[i]! * e));
    return b.commit()[0]!;
  }) as KernelFunc;
  return { kernelName: EMA_STEP, backendName, kernelFunc };
}
