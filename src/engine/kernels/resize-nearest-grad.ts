/**
 * ResizeNearestNeighborGrad for the pure-JS cpu backend as a direct loop: each
 * output gradient goes to the input pixel the forward resize read (the same
 * index rule as the forward kernel: align-corners scale, half-pixel centres,
 * floor or round). Replaces tfjs-backend-cpu 4.22's kernel, which is wrong for a
 * batch of more than one image (found comparing a whole model's gradients
 * between the wasm and cpu backends: the FPN's upsampling sent the gradient of
 * image b elsewhere), so that the cpu reference gives the same gradients as wasm.
 */
import {
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  ResizeNearestNeighborGrad,
  type ResizeNearestNeighborGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { withOutput } from './heap-views.js';

/** The input index the forward nearest-neighbour resize reads for output index `o`. */
export function nearestSource(o: number, inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): number {
  const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const frac = halfPixelCenters ? scale * (o + 0.5) : scale * o;
  const src = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixelCenters ? Math.max(0, src) : src;
}

/** dx [B, H, W, C] of images [B, H, W, C] from dy [B, h, w, C]. */
export function resizeNearestGrad(
  dy: ArrayLike<number>,
  dyShape: readonly number[],
  inShape: readonly number[],
  alignCorners: boolean,
  halfPixelCenters: boolean,
  into?: Float32Array,
): Float32Array {
  const [b, oh, ow, c] = dyShape as [number, number, number, number];
  const [, h, w] = inShape as [number, number, number, number];
  const dx = into ?? new Float32Array(b * h * w * c);
  const rows = Int32Array.from({ length: oh }, (_, y) => nearestSource(y, h, oh, alignCorners, halfPixelCenters));
  const cols = Int32Array.from({ length: ow }, (_, x) => nearestSource(x, w, ow, alignCorners, halfPixelCenters));
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < oh; y++) {
      const rowIn = (n * h + rows[y]!) * w;
      for (let x = 0; x < ow; x++) {
        const to = (rowIn + cols[x]!) * c;
        const from = ((n * oh + y) * ow + x) * c;
        for (let k = 0; k < c; k++) dx[to + k]! += dy[from + k]!;
      }
    }
  }
  return dx;
}

/**
 * The same direct loop for the wasm backend, writing into the output's heap memory:
 * its built-in kernel sends gradients to the wrong pixels with half-pixel centres at
 * a non-integer scale (found by `yolor selftest`).
 */
export function resizeNearestGradWasmConfig(backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { images, dy } = inputs as { images: TensorInfo; dy: TensorInfo };
    const { alignCorners, halfPixelCenters } = attrs as unknown as ResizeNearestNeighborGradAttrs;
    const { out, outValues, inValues, commit } = withOutput(backend as KernelBackend, images.shape.slice(), [dy]);
    resizeNearestGrad(inValues[0]!, dy.shape, images.shape, alignCorners, halfPixelCenters, outValues);
    commit();
    return out;
  };
  return { kernelName: ResizeNearestNeighborGrad, backendName, kernelFunc };
}

interface CpuLikeBackend {
  data: { get(id: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

export function resizeNearestGradCpuConfig(backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { images, dy } = inputs as { images: TensorInfo; dy: TensorInfo };
    const { alignCorners, halfPixelCenters } = attrs as unknown as ResizeNearestNeighborGradAttrs;
    const be = backend as unknown as CpuLikeBackend;
    const dx = resizeNearestGrad(be.data.get(dy.dataId).values, dy.shape, images.shape, alignCorners, halfPixelCenters);
    return be.makeTensorInfo(images.shape.slice(), 'float32', dx);
  };
  return { kernelName: ResizeNearestNeighborGrad, backendName, kernelFunc };
}
