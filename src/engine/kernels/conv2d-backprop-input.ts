/**
 * Conv2DBackpropInput for the wasm backend, computed by the backend's own fast
 * forward convolution (XNNPACK). Replaces the backend's built-in kernel, a plain
 * loop about 10× slower than its forward convolution.
 *
 * Stride 1: the output gradient is convolved with the filter flipped in space and
 * with its in/out channels swapped.
 * Stride s > 1 (sub-pixel decomposition): the input rows h with (h + padTop) ≡ r
 * (mod s) receive gradient only from the filter taps i ≡ r (mod s), so for each of
 * the s² phases (r, c) a stride-1 convolution of the un-dilated output gradient
 * with that phase's sub-filter gives those rows/columns; the phases are then
 * interleaved (a depth-to-space shuffle). Same FLOPs as the forward pass, where
 * zero insertion would spend s² times as many.
 *
 *   dX[h] = Σ_{y, i : h = y·s + i − padTop} dY[y] · W[i]
 */
import {
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { type ConvGeometry, inputGradPadding, resolveConvGeometry } from './conv-geometry.js';
import { withOutput } from './heap-views.js';
import { type KernelScope, withKernelScope } from './kernel-scope.js';

function stride1(s: KernelScope, dy: TensorInfo, filter: TensorInfo, g: ConvGeometry): TensorInfo {
  const swapped = s.flippedFilter(filter, { swap: true }); // [kh, kw, Co, Ci]
  const [pt, pb] = inputGradPadding(g.inH, g.outH, g.kh, 1, 1, g.padTop);
  const [pl, pr] = inputGradPadding(g.inW, g.outW, g.kw, 1, 1, g.padLeft);
  const cropped = s.padOrCrop(dy, [
    [0, 0],
    [Math.min(0, pt), Math.min(0, pb)],
    [Math.min(0, pl), Math.min(0, pr)],
    [0, 0],
  ]);
  return s.run(
    'Conv2D',
    { x: cropped, filter: swapped },
    {
      strides: [1, 1],
      dilations: [1, 1],
      dataFormat: 'NHWC',
      pad: [
        [0, 0],
        [Math.max(0, pt), Math.max(0, pb)],
        [Math.max(0, pl), Math.max(0, pr)],
        [0, 0],
      ],
    },
  );
}

/** Taps of phase r among k taps at stride s: r, r + s, … */
function phaseTaps(k: number, s: number, r: number): number {
  return r < k ? Math.ceil((k - r) / s) : 0;
}

function subPixel(s: KernelScope, dy: TensorInfo, filter: TensorInfo, g: ConvGeometry): TensorInfo {
  const { strideH: sh, strideW: sw, kh, kw } = g;
  const ci = filter.shape[2]!;
  // Phase outputs cover padded rows [0, qh·sh) ⊇ [padTop, padTop + inH).
  const qh = Math.ceil((g.padTop + g.inH) / sh);
  const qw = Math.ceil((g.padLeft + g.inW) / sw);
  const phases: TensorInfo[] = [];
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      const th = phaseTaps(kh, sh, rh);
      const tw = phaseTaps(kw, sw, rw);
      if (th === 0 || tw === 0) {
        phases.push(s.zeros([g.batch, qh, qw, ci]));
        continue;
      }
      const swapped = s.flippedFilter(filter, { i0: rh, j0: rw, step: [sh, sw], swap: true }); // [th, tw, Co, Ci]
      const [pt, pb] = [th - 1, qh - g.outH];
      const [pl, pr] = [tw - 1, qw - g.outW];
      const cropped = s.padOrCrop(dy, [
        [0, 0],
        [0, Math.min(0, pb)],
        [0, Math.min(0, pr)],
        [0, 0],
      ]);
      phases.push(
        s.run(
          'Conv2D',
          { x: cropped, filter: swapped },
          {
            strides: [1, 1],
            dilations: [1, 1],
            dataFormat: 'NHWC',
            pad: [
              [0, 0],
              [pt, Math.max(0, pb)],
              [pl, Math.max(0, pr)],
              [0, 0],
            ],
          },
        ),
      ); // [B, qh, qw, Ci]
    }
  }
  return interleavePhases(s, phases, g, ci);
}

/**
 * Depth-to-space shuffle of the phase outputs straight into the cropped result:
 * dX[b, h, w] = phase[(h + padTop) mod sh][(w + padLeft) mod sw][b, ⌊(h + padTop)/sh⌋, ⌊(w + padLeft)/sw⌋].
 * A direct copy of channel runs; the wasm backend's rank-6 Transpose is ~15× slower.
 */
function interleavePhases(s: KernelScope, phases: TensorInfo[], g: ConvGeometry, ci: number): TensorInfo {
  const { strideH: sh, strideW: sw } = g;
  const [, qh, qw] = phases[0]!.shape as [number, number, number, number];
  const shape = [g.batch, g.inH, g.inW, ci];
  const { out: result, outValues: out, inValues: src, commit } = withOutput(s.backend, shape, phases);
  let dst = 0;
  for (let b = 0; b < g.batch; b++) {
    for (let h = 0; h < g.inH; h++) {
      const ph = h + g.padTop;
      const rowBase = (b * qh + Math.floor(ph / sh)) * qw;
      const phaseRow = (ph % sh) * sw;
      for (let w = 0; w < g.inW; w++) {
        const pw = w + g.padLeft;
        const from = src[phaseRow + (pw % sw)]!;
        let k = (rowBase + Math.floor(pw / sw)) * ci;
        // A plain element loop: subarray()+set() per pixel allocates and is ~4× slower for short channel runs.
        for (let c = 0; c < ci; c++) out[dst++] = from[k++]!;
      }
    }
  }
  commit();
  return result;
}

export function conv2dBackpropInputViaConv(
  backend: KernelBackend,
  backendName: string,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DBackpropInputAttrs,
): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const filterShape = filter.shape as [number, number, number, number];
  const g = resolveConvGeometry(Conv2DBackpropInput, inputShape, filterShape, strides, 1, pad, dimRoundingMode, false, dataFormat);
  if (dy.shape[1] !== g.outH || dy.shape[2] !== g.outW) {
    throw new Error(
      `Conv2DBackpropInput: dy shape ${dy.shape} does not match the forward output ` + `[${g.batch},${g.outH},${g.outW},${filterShape[3]}]`,
    );
  }
  return withKernelScope(backend, backendName, (s) => (g.strideH === 1 && g.strideW === 1 ? stride1(s, dy, filter, g) : subPixel(s, dy, filter, g)));
}

export function conv2dBackpropInputConfig(backendName: string): KernelConfig {
  return {
    kernelName: Conv2DBackpropInput,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }) =>
      conv2dBackpropInputViaConv(
        backend as KernelBackend,
        backendName,
        inputs.dy!,
        inputs.filter!,
        attrs as unknown as Conv2DBackpropInputAttrs,
      )) as KernelFunc,
  };
}
