/**
 * Identity (tf.clone, and every tensor a custom gradient saves for its backward
 * pass) without a copy: the output shares the input's buffer, reference-counted, as
 * the cpu backend does. The wasm backend's own version copies the whole tensor, ~950
 * times per yolor-n training step. Safe because no kernel writes into its inputs.
 */
import { Identity, type KernelBackend, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

interface RefCounted {
  incRef(dataId: object): void;
}

export function identityConfig(backendName: string, builtin?: KernelConfig): KernelConfig {
  return {
    kernelName: Identity,
    backendName,
    kernelFunc: ((args) => {
      const x = (args.inputs as { x: TensorInfo }).x;
      const backend = args.backend as KernelBackend & Partial<RefCounted>;
      if (x.dtype === 'string' || typeof backend.incRef !== 'function') {
        if (!builtin) throw new Error('Identity: no built-in kernel to delegate to');
        return builtin.kernelFunc(args);
      }
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }) as KernelFunc,
  };
}
