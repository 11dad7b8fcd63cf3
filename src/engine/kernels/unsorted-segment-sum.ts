/**
 * UnsortedSegmentSum (needed by the gradient of `gather`):
 *   out[s, ...] = Σ_{i : ids[i] = s} x[i, ...]
 * where ids has the shape of a prefix of x's shape; ids outside [0, numSegments)
 * contribute nothing, as in TensorFlow.
 */
import {
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  UnsortedSegmentSum,
  type UnsortedSegmentSumAttrs,
  util,
} from '@tensorflow/tfjs-core';

export function unsortedSegmentSumDirect(backend: KernelBackend, x: TensorInfo, segmentIds: TensorInfo, attrs: UnsortedSegmentSumAttrs): TensorInfo {
  const { numSegments } = attrs;
  const idRank = segmentIds.shape.length;
  for (let i = 0; i < idRank; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(`UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} must be a prefix of x shape ${x.shape}`);
    }
  }
  const inner = util.sizeFromShape(x.shape.slice(idRank));
  const ids = backend.readSync(segmentIds.dataId) as Int32Array | Float32Array;
  const xs = backend.readSync(x.dataId) as Float32Array | Int32Array;
  const acc = new Float64Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i]!;
    if (seg < 0 || seg >= numSegments) continue;
    const src = i * inner;
    const dst = seg * inner;
    for (let k = 0; k < inner; k++) acc[dst + k]! += xs[src + k]!;
  }
  const outShape = [numSegments, ...x.shape.slice(idRank)];
  const values = x.dtype === 'int32' ? Int32Array.from(acc) : Float32Array.from(acc);
  return { dataId: backend.write(values, outShape, x.dtype), shape: outShape, dtype: x.dtype };
}

export function unsortedSegmentSumConfig(backendName: string): KernelConfig {
  return {
    kernelName: UnsortedSegmentSum,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }) =>
      unsortedSegmentSumDirect(backend as KernelBackend, inputs.x!, inputs.segmentIds!, attrs as unknown as UnsortedSegmentSumAttrs)) as KernelFunc,
  };
}
