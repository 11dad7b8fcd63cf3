/**
 * DepthwiseConv2dNativeBackpropInput, computed by the backend's own fast forward
 * depthwise convolution: the output gradient (C·M channels, zeros inserted for
 * strides) is convolved depthwise with the spatially flipped filter reshaped to
 * multiplier 1, and the M contributions of each input channel are summed.
 */
import {
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { inputGradPadding, resolveConvGeometry } from './conv-geometry.js';
import { withKernelScope } from './kernel-scope.js';

export function depthwiseBackpropInputViaConv(
  backend: KernelBackend,
  backendName: string,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: DepthwiseConv2dNativeBackpropInputAttrs,
): TensorInfo {
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const filterShape = filter.shape as [number, number, number, number];
  const [kh, kw, c, m] = filterShape;
  const g = resolveConvGeometry(DepthwiseConv2dNativeBackpropInput, inputShape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  return withKernelScope(backend, backendName, (s) => {
    const perChannel = s.reshape(s.flippedFilter(filter, { swap: false }), [kh, kw, c * m, 1]);
    const dilated = s.zeroInsert(dy, g.strideH, g.strideW);
    const [pt, pb] = inputGradPadding(g.inH, g.outH, kh, g.strideH, g.dilH, g.padTop);
    const [pl, pr] = inputGradPadding(g.inW, g.outW, kw, g.strideW, g.dilW, g.padLeft);
    const cropped = s.padOrCrop(dilated, [
      [0, 0],
      [Math.min(0, pt), Math.min(0, pb)],
      [Math.min(0, pl), Math.min(0, pr)],
      [0, 0],
    ]);
    const full = s.run(
      'DepthwiseConv2dNative',
      { x: cropped, filter: perChannel },
      {
        strides: [1, 1],
        dilations: [g.dilH, g.dilW],
        pad: [
          [0, 0],
          [Math.max(0, pt), Math.max(0, pb)],
          [Math.max(0, pl), Math.max(0, pr)],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      },
    ); // [B, H, W, C·M]
    if (m === 1) return full;
    const split = s.reshape(full, [g.batch, g.inH, g.inW, c, m]);
    return s.run('Sum', { x: split }, { axis: [4], keepDims: false });
  });
}

export function depthwiseBackpropInputConfig(backendName: string): KernelConfig {
  return {
    kernelName: DepthwiseConv2dNativeBackpropInput,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }) =>
      depthwiseBackpropInputViaConv(
        backend as KernelBackend,
        backendName,
        inputs.dy!,
        inputs.filter!,
        attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs,
      )) as KernelFunc,
  };
}
