/**
 * Geometry shared by the convolution gradient kernels: the forward convolution's
 * padding, strides and dilations, resolved once by tfjs's own shape logic so the
 * gradients agree with the forward pass for 'same', 'valid' and explicit padding.
 */
import { backend_util } from '@tensorflow/tfjs-core';

export type PadAttr = 'valid' | 'same' | number | backend_util.ExplicitPadding;

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  dilH: number;
  dilW: number;
  padTop: number;
  padLeft: number;
}

export function resolveConvGeometry(
  kernelName: string,
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  dilations: [number, number] | number,
  pad: PadAttr,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
  dataFormat: string = 'NHWC',
): ConvGeometry {
  if (dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernelName} on wasm supports only NHWC (channels-last) data, got '${dataFormat}'`);
  }
  const info = backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad, dimRoundingMode, depthwise, 'channelsLast');
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    outH: info.outHeight,
    outW: info.outWidth,
    kh: info.filterHeight,
    kw: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    dilH: info.dilationHeight,
    dilW: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Padding for the "input gradient as a forward convolution" trick: the output
 * gradient, with (stride - 1) zeros inserted after every element (so it has
 * outH*strideH rows), is convolved at stride 1 with the spatially flipped filter.
 * Returns [before, after] amounts (negative means crop) along one spatial axis.
 */
export function inputGradPadding(inSize: number, outSize: number, k: number, stride: number, dilation: number, padBefore: number): [number, number] {
  const effK = (k - 1) * dilation;
  const before = effK - padBefore;
  const dilatedSize = outSize * stride;
  const after = inSize + effK - dilatedSize - before;
  return [before, after];
}

/**
 * Padding for the "filter gradient as a forward convolution" trick: the input is
 * correlated with the output gradient used as a (dilated by stride) filter, at a
 * stride equal to the forward dilation, so that exactly k outputs result.
 */
export function filterGradPadding(inSize: number, outSize: number, k: number, stride: number, dilation: number, padBefore: number): [number, number] {
  const lastUsed = (outSize - 1) * stride + (k - 1) * dilation - padBefore; // last input row read
  const after = lastUsed + 1 - inSize;
  return [padBefore, after];
}
