/**
 * Conv2DBackpropFilter for layers with few input channels (the stem, where
 * Ci·kh·kw is small): the forward-convolution formulation would have only
 * Ci·kh·kw output pixels per GEMM and runs at a quarter of XNNPACK's speed, so
 * here the input patches are gathered channel-major in JS,
 *   P[(i, j, ci), (b, y, x)] = X[b, y·s + i·d − p, x·s + j·d − p, ci]   (0 outside),
 * and dW = P · dY is one un-transposed BatchMatMul (the wasm backend's fast path).
 */
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import type { ConvGeometry } from './conv-geometry.js';
import { withOutput } from './heap-views.js';
import type { KernelScope } from './kernel-scope.js';

/** Below this many rows (Ci·kh·kw) the GEMM path beats the convolution path. */
export const GEMM_FILTER_GRAD_MAX_ROWS = 64;

function gatherPatches(backend: KernelBackend, x: TensorInfo, g: ConvGeometry, ci: number): TensorInfo {
  const n = g.batch * g.outH * g.outW;
  const rows = g.kh * g.kw * ci;
  const {
    out,
    outValues: p,
    inValues: [xs],
    commit,
  } = withOutput(backend, [1, rows, n], [x]);
  // One output row per (tap, channel), written contiguously; reads stride by Ci only.
  for (let i = 0; i < g.kh; i++) {
    for (let j = 0; j < g.kw; j++) {
      for (let ch = 0; ch < ci; ch++) {
        const rowOff = ((i * g.kw + j) * ci + ch) * n;
        for (let b = 0; b < g.batch; b++) {
          for (let y = 0; y < g.outH; y++) {
            const r = y * g.strideH + i * g.dilH - g.padTop;
            if (r < 0 || r >= g.inH) continue;
            const dst = rowOff + (b * g.outH + y) * g.outW;
            const srcRow = (b * g.inH + r) * g.inW;
            for (let xo = 0; xo < g.outW; xo++) {
              const c = xo * g.strideW + j * g.dilW - g.padLeft;
              if (c >= 0 && c < g.inW) p[dst + xo] = xs[(srcRow + c) * ci + ch]!;
            }
          }
        }
      }
    }
  }
  commit();
  return out;
}

export function conv2dBackpropFilterGemm(
  s: KernelScope,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  filterShape: [number, number, number, number],
): TensorInfo {
  const [kh, kw, ci, co] = filterShape;
  const n = g.batch * g.outH * g.outW;
  const a = s.track(gatherPatches(s.backend, x, g, ci));
  const b = s.reshape(dy, [1, n, co]);
  const prod = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  return s.reshape(prod, [kh, kw, ci, co]);
}
