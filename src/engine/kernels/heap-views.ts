/**
 * Zero-copy access to tensor memory for the direct-loop kernels. On the wasm
 * backend a tensor's values live in the module's heap: reading them through a
 * view and writing the result straight into a freshly made output saves two full
 * copies per kernel call. Other backends fall back to readSync / write.
 */
import type { DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

interface HeapBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** The same access as seen by kernels whose tensors are all float32 (the native kernels, the fused updates). */
export interface Float32HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

export function isHeapBackend(b: KernelBackend): b is KernelBackend & HeapBackend {
  return typeof (b as Partial<HeapBackend>).typedArrayFromHeap === 'function' && typeof (b as Partial<HeapBackend>).makeOutput === 'function';
}

/**
 * Allocates a float32 output, then returns it with a writable array for it and
 * read-only arrays for `inputs`. Views are taken after the allocation, which may
 * grow (and so move) the heap; use them before allocating anything else.
 */
export function withOutput(
  backend: KernelBackend,
  shape: number[],
  inputs: TensorInfo[],
): { out: TensorInfo; outValues: Float32Array; inValues: Array<Float32Array | Int32Array>; commit: () => void } {
  if (isHeapBackend(backend)) {
    const out = backend.makeOutput(shape, 'float32');
    const outValues = backend.typedArrayFromHeap(out) as Float32Array;
    outValues.fill(0);
    const inValues = inputs.map((t) => backend.typedArrayFromHeap(t) as Float32Array | Int32Array);
    return { out, outValues, inValues, commit: () => undefined };
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const outValues = new Float32Array(size);
  const inValues = inputs.map((t) => backend.readSync(t.dataId) as Float32Array | Int32Array);
  const out: TensorInfo = { dataId: {}, shape, dtype: 'float32' };
  return {
    out,
    outValues,
    inValues,
    commit: () => {
      out.dataId = backend.write(outValues, shape, 'float32');
    },
  };
}
