/**
 * yolor-ts public API. Data flows one way: data → model → tasks/losses →
 * trainer → evaluation → export; this index re-exports each layer's entry points.
 */

// Engine: backend choice, training kernels for wasm, numerical self-checks.
export { initBackend, currentBackend, BACKEND_REQUESTS, type BackendInfo, type BackendRequest } from './engine/backend.js';
export { registerTrainingKernels, unregisterTrainingKernels, TRAINING_KERNELS, type TrainingKernel } from './engine/kernels/index.js';
export {
  runSelftest, KERNEL_TOLERANCE, GRADIENT_TOLERANCE,
  type SelftestOptions, type SelftestReport, type SelftestResult,
} from './engine/selftest.js';
export {
  compareKernelWithCpu, finiteDifferenceCheck, relativeMaxError,
  type GradientCase, type KernelCase, type KernelInput,
} from './engine/check.js';

// Layers: a small module system over tfjs and the building blocks of the YOLO families.
export { Module, withTrace, kaimingUniform, type Parameter, type ParamGroup, type LayerRecord } from './nn/module.js';
export { activate, ACTIVATIONS, type ActivationName } from './nn/activation.js';
export { Conv2d, ConvBnAct, DepthwiseConvBnAct, BatchNorm2d, BN_EPS, BN_MOMENTUM } from './nn/conv.js';
export {
  Bottleneck, BottleneckCSP, C3, SPP, SPPF, DWSeparableConv, Downsample, Upsample, PlainConv, BatchNormAct,
  upsample, concatChannels, cspBlock,
} from './nn/blocks.js';

// Models: backbones, necks, head, configs, compound scaling, zoo, summaries, checkpoints.
export { CspDarknet } from './models/backbones/csp-darknet.js';
export { FpnNeck } from './models/necks/fpn.js';
export { PanNeck } from './models/necks/pan.js';
export { BiFpnNeck, BiFpnLayer, FastNormalizedFusion, bifpnScaling } from './models/necks/bifpn.js';
export { DetectHead } from './models/head.js';
export { Detector } from './models/detector.js';
export { parseModelConfig, readModelConfig, serializeModelConfig, DEFAULT_ANCHORS, type ModelConfig } from './models/config.js';
export { compoundScale, type ScaledDims } from './models/scaling.js';
export { listZoo, resolveModelConfig, ZOO_DIR } from './models/zoo.js';
export { summarizeModel, type ModelSummary } from './models/summary.js';
export { saveModel, loadModel, loadWeightsInto } from './models/checkpoint.js';
export { BACKBONE_BUILDERS, NECK_BUILDERS } from './models/registry.js';
export type { Backbone, Neck, BuildContext } from './models/types.js';

// Files: a file:// model handler for plain tfjs, tensors to and from disk, crash-safe writes.
export {
  fileSystemHandler, registerFileRouter, saveTensors, loadTensors, MODEL_JSON, WEIGHTS_BIN,
} from './io/file-handler.js';
export { writeFileAtomic, writeFilesAtomic, recoverAtomicDir } from './io/atomic-write.js';

// Utilities.
export { ProgressBar, type ProgressBarOptions } from './util/progress.js';
export { Rng } from './util/rng.js';
