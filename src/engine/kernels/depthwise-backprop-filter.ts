/**
 * DepthwiseConv2dNativeBackpropFilter as a direct loop:
 *
 *   dW[i, j, c, m] = Σ_{b, y, x} X[b, y·s + i·d − p, x·s + j·d − p, c] · dY[b, y, x, c·M + m]
 *
 * A depthwise filter gradient has as many multiply-adds as the forward pass and
 * is bound by memory traffic, so one pass over dY with the kernel window read
 * from X (accumulating in float64) beats any composition of whole-tensor ops,
 * each of which would stream the full tensor again.
 */
import {
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { resolveConvGeometry } from './conv-geometry.js';
import { withOutput } from './heap-views.js';

export function depthwiseBackpropFilterDirect(
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs,
): TensorInfo {
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const [kh, kw, c, m] = filterShape;
  const g = resolveConvGeometry(
    DepthwiseConv2dNativeBackpropFilter,
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const {
    out,
    outValues,
    inValues: [xs, dys],
    commit,
  } = withOutput(backend, [kh, kw, c, m], [x, dy]);
  const cm = c * m;
  const acc = new Float64Array(kh * kw * cm);
  const { inH, inW, outH, outW, strideH, strideW, dilH, dilW, padTop, padLeft } = g;
  for (let b = 0; b < g.batch; b++) {
    for (let y = 0; y < outH; y++) {
      for (let i = 0; i < kh; i++) {
        const row = y * strideH + i * dilH - padTop;
        if (row < 0 || row >= inH) continue;
        for (let xo = 0; xo < outW; xo++) {
          const dyOff = ((b * outH + y) * outW + xo) * cm;
          for (let j = 0; j < kw; j++) {
            const col = xo * strideW + j * dilW - padLeft;
            if (col < 0 || col >= inW) continue;
            const xOff = ((b * inH + row) * inW + col) * c;
            const wOff = (i * kw + j) * cm;
            if (m === 1) {
              for (let ch = 0; ch < c; ch++) acc[wOff + ch]! += xs[xOff + ch]! * dys[dyOff + ch]!;
            } else {
              for (let ch = 0; ch < c; ch++) {
                const xv = xs[xOff + ch]!;
                const base = ch * m;
                for (let k = 0; k < m; k++) acc[wOff + base + k]! += xv * dys[dyOff + base + k]!;
              }
            }
          }
        }
      }
    }
  }
  outValues.set(acc);
  commit();
  return out;
}

export function depthwiseBackpropFilterConfig(backendName: string): KernelConfig {
  return {
    kernelName: DepthwiseConv2dNativeBackpropFilter,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }) =>
      depthwiseBackpropFilterDirect(
        backend as KernelBackend,
        inputs.x!,
        inputs.dy!,
        attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs,
      )) as KernelFunc,
  };
}
