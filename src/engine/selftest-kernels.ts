/**
 * Randomised cases for the custom training kernels: strides 1 and 2, dilation,
 * 'same' / 'valid' / explicit padding, batch > 1, channel counts that are not
 * multiples of 4, channel multipliers, and a few fixed corner cases.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import type { KernelCase } from './check.js';

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface Geometry {
  b: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  stride: number;
  dilation: number;
  pad: Pad;
}

function outSize(inSize: number, k: number, stride: number, dilation: number, pad: Pad, axis: 1 | 2): number {
  const eff = (k - 1) * dilation + 1;
  if (pad === 'same') return Math.ceil(inSize / stride);
  if (pad === 'valid') return Math.ceil((inSize - eff + 1) / stride);
  const [a, b] = pad[axis];
  return Math.trunc((inSize + a + b - eff) / stride + 1);
}

function padText(p: Pad): string {
  return typeof p === 'string' ? p : `explicit(${p[1].join(',')}/${p[2].join(',')})`;
}

function randomGeometry(rng: Rng, allowDilation: boolean): Geometry {
  for (;;) {
    const stride = rng.pick([1, 1, 2, 2, 3]);
    const dilation = allowDilation && stride === 1 ? rng.pick([1, 2]) : 1;
    const kh = rng.pick([1, 2, 3, 3, 5]);
    const kw = rng.pick([kh, kh, 1, 3]);
    const pad: Pad = rng.pick<Pad>([
      'same',
      'valid',
      [
        [0, 0],
        [rng.int(0, 2), rng.int(0, 2)],
        [rng.int(0, 2), rng.int(0, 2)],
        [0, 0],
      ],
    ]);
    const g: Geometry = {
      b: rng.int(1, 3),
      h: rng.int(4, 11),
      w: rng.int(4, 11),
      ci: rng.pick([1, 3, 5, 8]),
      co: rng.pick([1, 2, 7, 16]),
      kh,
      kw,
      stride,
      dilation,
      pad,
    };
    if (outSize(g.h, kh, stride, dilation, pad, 1) >= 1 && outSize(g.w, kw, stride, dilation, pad, 2) >= 1) return g;
  }
}

function describe(g: Geometry, extra = ''): string {
  return `x[${g.b},${g.h},${g.w},${g.ci}] k${g.kh}x${g.kw} s${g.stride} d${g.dilation} ${padText(g.pad)}${extra}`;
}

function f32(rng: Rng, shape: number[]) {
  return { values: rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape, dtype: 'float32' as const };
}

const FIXED: Geometry[] = [
  { b: 2, h: 8, w: 8, ci: 3, co: 5, kh: 3, kw: 3, stride: 2, dilation: 1, pad: 'same' },
  { b: 1, h: 7, w: 9, ci: 5, co: 3, kh: 3, kw: 3, stride: 2, dilation: 1, pad: 'valid' },
  { b: 3, h: 6, w: 6, ci: 1, co: 1, kh: 1, kw: 1, stride: 1, dilation: 1, pad: 'valid' },
  { b: 2, h: 9, w: 9, ci: 6, co: 4, kh: 3, kw: 3, stride: 1, dilation: 2, pad: 'same' },
  {
    b: 1,
    h: 5,
    w: 5,
    ci: 2,
    co: 3,
    kh: 2,
    kw: 2,
    stride: 1,
    dilation: 1,
    pad: [
      [0, 0],
      [3, 0],
      [0, 3],
      [0, 0],
    ],
  },
];

export function kernelCases(rng: Rng, randomPerKernel: number): KernelCase[] {
  const cases: KernelCase[] = [];
  const geoms = (dil: boolean): Geometry[] => [
    ...FIXED.filter((g) => dil || g.dilation === 1),
    ...Array.from({ length: randomPerKernel }, () => randomGeometry(rng, dil)),
  ];
  for (const g of geoms(false)) {
    const oh = outSize(g.h, g.kh, g.stride, 1, g.pad, 1);
    const ow = outSize(g.w, g.kw, g.stride, 1, g.pad, 2);
    const common = { strides: [g.stride, g.stride], pad: g.pad, dataFormat: 'NHWC' };
    cases.push({
      kernelName: 'Conv2D',
      detail: describe(g, ` co${g.co}`),
      inputs: { x: f32(rng, [g.b, g.h, g.w, g.ci]), filter: f32(rng, [g.kh, g.kw, g.ci, g.co]) },
      attrs: { ...common, dilations: [1, 1] },
    });
    cases.push({
      kernelName: 'Conv2DBackpropFilter',
      detail: describe(g, ` co${g.co}`),
      inputs: { x: f32(rng, [g.b, g.h, g.w, g.ci]), dy: f32(rng, [g.b, oh, ow, g.co]) },
      attrs: { ...common, filterShape: [g.kh, g.kw, g.ci, g.co] },
    });
    cases.push({
      kernelName: 'Conv2DBackpropInput',
      detail: describe(g, ` co${g.co}`),
      inputs: { dy: f32(rng, [g.b, oh, ow, g.co]), filter: f32(rng, [g.kh, g.kw, g.ci, g.co]) },
      attrs: { ...common, inputShape: [g.b, g.h, g.w, g.ci] },
    });
  }
  for (const g of geoms(true)) {
    const m = rng.pick([1, 1, 2, 3]);
    const oh = outSize(g.h, g.kh, g.stride, g.dilation, g.pad, 1);
    const ow = outSize(g.w, g.kw, g.stride, g.dilation, g.pad, 2);
    const common = { strides: [g.stride, g.stride], dilations: [g.dilation, g.dilation], pad: g.pad };
    const filterCase: KernelCase = {
      kernelName: 'DepthwiseConv2dNativeBackpropFilter',
      detail: describe(g, ` m${m}`),
      inputs: { x: f32(rng, [g.b, g.h, g.w, g.ci]), dy: f32(rng, [g.b, oh, ow, g.ci * m]) },
      attrs: { ...common, filterShape: [g.kh, g.kw, g.ci, m] },
    };
    const inputCase: KernelCase = {
      kernelName: 'DepthwiseConv2dNativeBackpropInput',
      detail: describe(g, ` m${m}`),
      inputs: { dy: f32(rng, [g.b, oh, ow, g.ci * m]), filter: f32(rng, [g.kh, g.kw, g.ci, m]) },
      attrs: { ...common, inputShape: [g.b, g.h, g.w, g.ci] },
    };
    if (g.dilation === 1) {
      cases.push({
        kernelName: 'DepthwiseConv2dNative',
        detail: describe(g, ` m${m}`),
        inputs: { x: f32(rng, [g.b, g.h, g.w, g.ci]), filter: f32(rng, [g.kh, g.kw, g.ci, m]) },
        attrs: common,
      });
    }
    if (g.dilation > 1) {
      filterCase.reference = dilatedFilterGradReference(filterCase, g, m);
      inputCase.reference = dilatedInputGradReference(inputCase, g, m);
    }
    cases.push(filterCase, inputCase);
  }
  for (const g of [...FIXED.filter((q) => q.dilation === 1), ...Array.from({ length: randomPerKernel }, () => randomGeometry(rng, false))]) {
    const pad = g.pad === 'same' || g.pad === 'valid' ? g.pad : 'valid';
    const oh = outSize(g.h, g.kh, g.stride, 1, pad, 1);
    const ow = outSize(g.w, g.kw, g.stride, 1, pad, 2);
    // Shifted negative so that whole windows are negative (the built-in wasm kernel's failure mode).
    const x = f32(rng, [g.b, g.h, g.w, g.ci]);
    for (let k = 0; k < x.values.length; k++) x.values[k] = x.values[k]! - 1.5;
    cases.push({
      kernelName: 'MaxPoolGrad',
      detail: `x[${g.b},${g.h},${g.w},${g.ci}] ${g.kh}x${g.kw} s${g.stride} ${pad}`,
      inputs: {
        dy: f32(rng, [g.b, oh, ow, g.ci]),
        input: x,
        output: { values: new Float32Array(g.b * oh * ow * g.ci), shape: [g.b, oh, ow, g.ci], dtype: 'float32' },
      },
      attrs: { filterSize: [g.kh, g.kw], strides: [g.stride, g.stride], pad },
    });
  }
  cases.push({ kernelName: 'Identity', detail: 'x[2,5,3] (shared buffer)', inputs: { x: f32(rng, [2, 5, 3]) }, attrs: {} });
  const reductions: Array<[number[], number[], boolean]> = [
    [[4, 5, 6, 7], [0, 1, 2], false],
    [[3, 8], [0], true],
    [[2, 3, 4], [0, 1], true],
    [[2, 3, 4], [1, 2], false],
    [[5, 6], [1], false],
    [[2, 3, 4, 5], [0, 2], false],
  ];
  for (const [shape, axis, keepDims] of reductions) {
    for (const kernelName of ['Sum', 'Mean']) {
      cases.push({
        kernelName,
        detail: `x[${shape}] axes [${axis}]${keepDims ? ' keepDims' : ''}`,
        inputs: { x: f32(rng, shape) },
        attrs: { axis, keepDims },
      });
    }
  }
  const tiles: Array<[number[], number[]]> = [
    [
      [1, 1, 1, 5],
      [2, 3, 4, 1],
    ],
    [
      [2, 3],
      [3, 2],
    ],
    [[4], [1]],
    [
      [2, 1, 3],
      [1, 4, 2],
    ],
  ];
  for (const [shape, reps] of tiles) {
    cases.push({ kernelName: 'Tile', detail: `x[${shape}] reps [${reps}]`, inputs: { x: f32(rng, shape) }, attrs: { reps } });
  }
  // Channel-axis forms (row copies in the native engine) and other axes (the previous kernel).
  const joins: Array<[number[][], number]> = [
    [
      [
        [2, 3, 4, 5],
        [2, 3, 4, 7],
        [2, 3, 4, 1],
      ],
      3,
    ],
    [
      [
        [2, 3, 4, 5],
        [2, 1, 4, 5],
      ],
      1,
    ],
    [
      [
        [6, 2],
        [6, 9],
      ],
      -1,
    ],
  ];
  for (const [shapes, axis] of joins) {
    cases.push({
      kernelName: 'Concat',
      detail: `${shapes.map((s) => `[${s}]`).join(' ')} axis ${axis}`,
      inputs: Object.fromEntries(shapes.map((s, i) => [String(i), f32(rng, s)])),
      attrs: { axis },
    });
  }
  const splits: Array<[number[], number[], number]> = [
    [[2, 3, 4, 12], [5, 4, 3], 3],
    [[2, 6, 4, 3], [2, 4], 1],
    [[7, 10], [1, 9], -1],
  ];
  for (const [shape, sizes, axis] of splits) {
    cases.push({
      kernelName: 'SplitV',
      detail: `x[${shape}] sizes [${sizes}] axis ${axis}`,
      inputs: { x: f32(rng, shape) },
      attrs: { numOrSizeSplits: sizes, axis },
    });
  }
  const slices: Array<[number[], number[], number[]]> = [
    [
      [40, 85],
      [0, 4],
      [40, 1],
    ],
    [
      [2, 3, 4, 9],
      [0, 0, 0, 2],
      [2, 3, 4, 5],
    ],
    [
      [2, 3, 4, 9],
      [1, 0, 1, 2],
      [1, 3, 2, 5],
    ],
    [
      [6, 5],
      [0, 0],
      [-1, 5],
    ],
  ];
  for (const [shape, begin, size] of slices) {
    cases.push({
      kernelName: 'Slice',
      detail: `x[${shape}] begin [${begin}] size [${size}]`,
      inputs: { x: f32(rng, shape) },
      attrs: { begin, size },
    });
  }
  const resizes: Array<[number[], number[], boolean, boolean]> = [
    [[2, 3, 4, 5], [6, 8], false, false],
    [[1, 5, 3, 2], [7, 4], true, false],
    [[2, 4, 4, 3], [6, 9], false, true],
  ];
  for (const [shape, size, alignCorners, halfPixelCenters] of resizes) {
    cases.push({
      kernelName: 'ResizeNearestNeighborGrad',
      detail: `images[${shape}] → [${size}]${alignCorners ? ' align-corners' : ''}${halfPixelCenters ? ' half-pixel' : ''}`,
      inputs: { images: f32(rng, shape), dy: f32(rng, [shape[0]!, size[0]!, size[1]!, shape[3]!]) },
      attrs: { alignCorners, halfPixelCenters },
    });
  }
  // The fused optimiser and EMA updates, against the composite ops they replace.
  for (const [shape, lr, momentum, weightDecay] of [
    [[3, 3, 8, 16], 0.01, 0.937, 5e-4],
    [[37], 0.003, 0.9, 0],
  ] as Array<[number[], number, number, number]>) {
    cases.push({
      kernelName: 'YolorSgdStep',
      detail: `x[${shape}] lr ${lr} μ ${momentum} wd ${weightDecay}`,
      inputs: { x: f32(rng, shape), m: f32(rng, shape), g: f32(rng, shape) },
      attrs: { lr, momentum, weightDecay },
      composite: ({ x, m, g: g0 }) => {
        const g = weightDecay > 0 ? tf.add(g0!, tf.mul(x!, weightDecay)) : g0!;
        const v = tf.add(tf.mul(m!, momentum), g);
        return [tf.sub(x!, tf.mul(tf.add(g, tf.mul(v, momentum)), lr)), v];
      },
    });
    cases.push({
      kernelName: 'YolorEmaStep',
      detail: `x[${shape}] decay 0.9`,
      inputs: { shadow: f32(rng, shape), x: f32(rng, shape) },
      attrs: { decay: 0.9 },
      composite: ({ shadow, x }) => tf.add(tf.mul(shadow!, 0.9), tf.mul(x!, 1 - 0.9)),
    });
  }
  for (let i = 0; i < Math.max(2, randomPerKernel); i++) {
    const rows = rng.int(1, 40);
    const inner = rng.pick([[], [3], [2, 5]]);
    const numSegments = rng.int(1, 12);
    const ids = Int32Array.from({ length: rows }, () => rng.int(-1, numSegments)); // includes out-of-range ids
    cases.push({
      kernelName: 'UnsortedSegmentSum',
      detail: `x[${[rows, ...inner]}] segments ${numSegments}`,
      inputs: { x: f32(rng, [rows, ...inner]), segmentIds: { values: ids, shape: [rows], dtype: 'int32' } },
      attrs: { numSegments },
    });
  }
  return cases;
}

/**
 * The cpu backend's depthwise gradients ignore dilation. A convolution with
 * dilation d equals one with dilation 1 and a filter that has (d − 1) zeros
 * inserted between its taps, so the reference runs that undilated equivalent.
 */
function dilatedInputGradReference(kc: KernelCase, g: Geometry, m: number): KernelCase['reference'] {
  const d = g.dilation;
  const ekh = (g.kh - 1) * d + 1;
  const ekw = (g.kw - 1) * d + 1;
  const src = kc.inputs.filter!.values;
  const dilated = new Float32Array(ekh * ekw * g.ci * m);
  const cm = g.ci * m;
  for (let i = 0; i < g.kh; i++) {
    for (let j = 0; j < g.kw; j++) {
      dilated.set(src.subarray((i * g.kw + j) * cm, (i * g.kw + j + 1) * cm), (i * d * ekw + j * d) * cm);
    }
  }
  return {
    kase: {
      kernelName: kc.kernelName,
      inputs: { dy: kc.inputs.dy!, filter: { values: dilated, shape: [ekh, ekw, g.ci, m], dtype: 'float32' } },
      attrs: { ...kc.attrs, dilations: [1, 1] },
    },
    post: (values, shape) => ({ values, shape }),
  };
}

function dilatedFilterGradReference(kc: KernelCase, g: Geometry, m: number): KernelCase['reference'] {
  const d = g.dilation;
  const ekh = (g.kh - 1) * d + 1;
  const ekw = (g.kw - 1) * d + 1;
  const cm = g.ci * m;
  return {
    kase: { kernelName: kc.kernelName, inputs: kc.inputs, attrs: { ...kc.attrs, dilations: [1, 1], filterShape: [ekh, ekw, g.ci, m] } },
    post: (values) => {
      const out = new Float32Array(g.kh * g.kw * cm);
      for (let i = 0; i < g.kh; i++) {
        for (let j = 0; j < g.kw; j++) {
          out.set(values.subarray((i * d * ekw + j * d) * cm, (i * d * ekw + j * d + 1) * cm), (i * g.kw + j) * cm);
        }
      }
      return { values: out, shape: [g.kh, g.kw, g.ci, m] };
    },
  };
}
