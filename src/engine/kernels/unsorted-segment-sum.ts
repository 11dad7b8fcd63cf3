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
  // Sums in float64 for the segments that occur only (the gradient of a gather of a few
  // rows from a large tensor scatters into mostly zeros): slot[s] is s's row in acc.
  const slot = new Int32Array(numSegments).fill(-1);
  const used: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i]!;
    if (seg >= 0 && seg < numSegments && slot[seg] === -1) {
      slot[seg] = used.length;
      used.push(seg);
    }
  }
  const acc = new Float64Array(used.length * inner);
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i]!;
    if (seg < 0 || seg >= numSegments) continue;
    const src = i * inner;
    const dst = slot[seg]! * inner;
    for (let k = 0; k < inner; k++) acc[dst + k]! += xs[src + k]!;
  }
  const outShape = [numSegments, ...x.shape.slice(idRank)];
  const values = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let u = 0; u < used.length; u++) {
    const dst = used[u]! * inner;
    const src = u * inner;
    for (let k = 0; k < inner; k++) values[dst + k] = acc[src + k]!;
  }
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
