/**
 * Sum and Mean over leading axes (bias gradients: Σ over batch and space; batch-norm
 * statistics: mean over [0, 1, 2]) as one streaming pass over rows. The wasm
 * backend reduces only innermost axes, so for these it first transposes the whole
 * tensor; every other reduction is handed to the backend's own kernel unchanged.
 */
import { type KernelBackend, type KernelConfig, type KernelFunc, type SumAttrs, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { withOutput } from './heap-views.js';

function leadingAxesCount(axes: number[], rank: number): number {
  const sorted = [...axes].sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length === rank) return -1;
  return sorted.every((a, i) => a === i) ? sorted.length : -1;
}

function reduceLeading(backend: KernelBackend, x: TensorInfo, k: number, keepDims: boolean, mean: boolean): TensorInfo {
  const rows = util.sizeFromShape(x.shape.slice(0, k));
  const inner = util.sizeFromShape(x.shape.slice(k));
  const shape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
  const {
    out: result,
    outValues: out,
    inValues: [xs],
    commit,
  } = withOutput(backend, shape, [x]);
  const acc = new Float64Array(inner);
  for (let r = 0; r < rows; r++) {
    const off = r * inner;
    for (let j = 0; j < inner; j++) acc[j]! += xs[off + j]!;
  }
  const scale = mean ? 1 / rows : 1;
  for (let j = 0; j < inner; j++) out[j] = acc[j]! * scale;
  commit();
  return result;
}

function wrap(kernelName: 'Sum' | 'Mean', backendName: string, builtin: KernelConfig | undefined): KernelConfig {
  if (!builtin) throw new Error(`${kernelName} has no built-in kernel on '${backendName}' to wrap`);
  const kernelFunc = ((args) => {
    const x = args.inputs.x!;
    const { axis, keepDims } = args.attrs as unknown as SumAttrs;
    const axes = util.parseAxisParam(axis, x.shape);
    const k = x.dtype === 'float32' ? leadingAxesCount(axes, x.shape.length) : -1;
    if (k > 0) return reduceLeading(args.backend as KernelBackend, x, k, keepDims, kernelName === 'Mean');
    return builtin.kernelFunc(args);
  }) as KernelFunc;
  const config: KernelConfig = { kernelName, backendName, kernelFunc };
  // The built-in kernel's set-up (binding its wasm function) must still run at backend initialisation.
  if (builtin.setupFunc) config.setupFunc = builtin.setupFunc;
  return config;
}

export const sumLeadingAxesConfig = (backendName: string, builtin?: KernelConfig) => wrap('Sum', backendName, builtin);
export const meanLeadingAxesConfig = (backendName: string, builtin?: KernelConfig) => wrap('Mean', backendName, builtin);
