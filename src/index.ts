/**
 * yolor-ts public API. Data flows one way: data → model → tasks/losses →
 * trainer → evaluation → export; this index re-exports each layer's entry points.
 */

// Ablation studies: per-variant mean ± std over seeds as Markdown, JSON and a bar chart.
export {
  formatCount,
  formatMeanStd,
  lowerIsBetter,
  type MeanStd,
  meanStd,
  type SuiteReport,
  type SuiteResultsJson,
  suiteMarkdown,
  type VariantResult,
  writeSuiteReport,
} from './ablate/report.js';
export { type AblateOptions, type AblateResult, matchWidth, runAblation, runConfig } from './ablate/run-suite.js';
export { type AblationRun, type AblationSuite, type AblationVariant, findSuite, METRIC_COLUMNS, SUITES } from './ablate/suites.js';
export { type AugmentHyp, DEFAULT_HYP, evalTransform, trainTransform } from './data/augment/pipeline.js';
export { defaultImageCheckCache, ImageCheckCache } from './data/check-cache.js';
export { type ClassificationData, loadClassificationData } from './data/classification.js';
export { fashionDataset } from './data/datasets/fashion.js';
export { isInstanceCacheDir, readInstanceCache } from './data/datasets/instance-cache.js';
export { BUILTIN_DATASET_REGISTRY, type BuiltinDataset, type BuiltinLoadOptions, builtinDataset } from './data/datasets/registry.js';
export { shapesDataset } from './data/datasets/shapes.js';
export { readCoco } from './data/formats/coco/read.js';
export { cocoMask } from './data/formats/coco/segmentation.js';
export type { DatasetFormat, DatasetReader, FormatMatch, FormatReadOptions } from './data/formats/format.js';
export { readIdxImages, readIdxLabels } from './data/formats/idx.js';
export { type DatasetFormatRequest, FORMAT_NAMES, type FormatName, WRITABLE_FORMATS, type WritableFormat } from './data/formats/names.js';
export { DATASET_FORMATS, datasetFormat, writeDataset } from './data/formats/registry.js';
export { readVoc } from './data/formats/voc/read.js';
export type { WriteOptions, WriteResult } from './data/formats/writing.js';
export { readYolo } from './data/formats/yolo/read.js';
export { decodeImage, encodeJpeg, encodePng, writeImage } from './data/image-io.js';
export { letterboxParams, unletterboxBoxes } from './data/letterbox.js';
export { type Batch, DataLoader, type LoaderOptions } from './data/loader.js';
export { BUILTIN_DATASETS, datasetSplit, loadDetectionDataset, loadDetectionDatasetAsync } from './data/resolve.js';
export { type CocoRle, decodeRle, encodeRle, maskToRle, type RleOrder, rleToMask } from './data/rle.js';
export { computeDatasetStats } from './data/stats.js';
// Data: formats, datasets, augmentation, loader.
export type { Annotation, BadInput, DetectionDataset, ImageRecord, RgbImage, Sample } from './data/types.js';
export { loadUnlabelledImages, type UnlabelledImages, type UnlabelledOptions } from './data/unlabelled.js';
export { applyImageReport, describeImageReport, type ImageReport, type VerifyOptions, verifyImages } from './data/verify.js';
// Engine: backend choice, training kernels for wasm, numerical self-checks.
export {
  BACKEND_REQUESTS,
  type BackendInfo,
  type BackendRequest,
  currentBackend,
  initBackend,
  type KernelInUse,
  kernelsInUse,
} from './engine/backend.js';
export {
  compareKernelWithCpu,
  finiteDifferenceCheck,
  type GradientCase,
  type KernelCase,
  type KernelInput,
  relativeMaxError,
} from './engine/check.js';
export { registerTrainingKernels, TRAINING_KERNELS, type TrainingKernel, unregisterTrainingKernels } from './engine/kernels/index.js';
export {
  loadNativeAddon,
  NATIVE_HOW_TO,
  NATIVE_KERNELS,
  type NativeAddon,
  type NativeLoad,
  registerNativeKernels,
  unregisterNativeKernels,
} from './engine/native/index.js';
export {
  GRADIENT_TOLERANCE,
  KERNEL_TOLERANCE,
  runSelftest,
  type SelftestOptions,
  type SelftestReport,
  type SelftestResult,
} from './engine/selftest.js';
// Evaluation.
export { type CocoDet, type CocoEvalResult, type CocoGt, evaluateCoco, formatCocoSummary } from './eval/coco.js';
export { loadCocoDetections, loadCocoGt } from './eval/coco-json.js';
export { detectionMetrics } from './eval/detection-metrics.js';
// Evaluation for multi-label classification, semantic segmentation and cross-image retrieval.
export { multiLabelAP, multiLabelF1 } from './eval/multilabel-metrics.js';
export { type RetrievalResult, retrievalMetrics } from './eval/retrieval-metrics.js';
export { SegmentationConfusion } from './eval/segmentation-metrics.js';
export { evaluateVoc } from './eval/voc.js';
export { checkVerdict, compareDecodedRows, EXPORT_CHECK_TOLERANCE, type ExportCheck, type OutputDifference } from './export/check-export.js';
export { UnsupportedExportError } from './export/errors.js';
export { ExportCheckError, type ExportOptions, type ExportResult, exportCheckpoint, exportDetector } from './export/export-model.js';
export { exportOnnx, graphToOnnx, type OnnxExportOptions, readOnnxMetadata } from './export/onnx/index.js';
export { OnnxDetector } from './export/onnx-runtime.js';
// Importing the export layer's loaders registers them, so that loadRunner opens ONNX files and TF.js graph models too.
export { onnxRunnerLoader, tfjsGraphRunnerLoader } from './export/runner-loaders.js';
export { exportTfjs, graphToTfjs, loadTfjsDetector, readTfjsMetadata, type TfjsDetector } from './export/tfjs/index.js';
// Export and deployment: kernel-level tracing → ONNX / TF.js graph model; engines behind one runner interface.
export { kernelHistogram, type TraceGraph, type TraceNode, traceGraph } from './export/trace.js';
export {
  type DetectorExportMeta,
  exportOutputNames,
  type TaskOutputsMeta,
  type TraceDetectorOptions,
  type TracedDetector,
  traceDetector,
} from './export/trace-detector.js';
export { checkpointRunnerLoader, loadRunner, modelJsonPath, type RunnerLoader, registerRunnerLoader, runnerLoaders } from './infer/load-runner.js';
export { type DetectionRunner, runnerImageSize, tfjsRunner } from './infer/runner.js';
export { recoverAtomicDir, writeFileAtomic, writeFilesAtomic } from './io/atomic-write.js';
// Files: a file:// model handler for plain tfjs, tensors to and from disk, crash-safe writes.
export {
  fileSystemHandler,
  loadTensors,
  MODEL_JSON,
  registerFileRouter,
  saveTensors,
  WEIGHTS_BIN,
} from './io/file-handler.js';
// Models: backbones, necks, head, configs, compound scaling, zoo, summaries, checkpoints.
export { CspDarknet } from './models/backbones/csp-darknet.js';
export {
  describeMatchedLoad,
  loadMatchingWeights,
  loadModel,
  loadWeightsInto,
  type MatchedLoad,
  saveModel,
} from './models/checkpoint.js';
export {
  type AlignOp,
  DEFAULT_ANCHORS,
  type ImplicitConfig,
  type ModelConfig,
  NO_IMPLICIT,
  parseModelConfig,
  type RefineMode,
  readModelConfig,
  serializeModelConfig,
  TASK_NAMES,
  type TaskName,
  type TaskWeighting,
} from './models/config.js';
export { configForDataset } from './models/dataset-config.js';
export { Detector, type TaskOutputs } from './models/detector.js';
export { type FittedImageSize, fitImageSize, maxStrideOf } from './models/image-size.js';
export { BiFpnLayer, BiFpnNeck, bifpnScaling, FastNormalizedFusion } from './models/necks/bifpn.js';
export { FpnNeck } from './models/necks/fpn.js';
export { PanNeck } from './models/necks/pan.js';
export {
  type EncoderModel,
  loadEncoderModel,
  loadPretextModel,
  PRETEXT_KIND,
  type PretextMeta,
  savePretextModel,
} from './models/pretext-checkpoint.js';
export { PretextNetwork, type PretextNetworkOptions } from './models/pretext-network.js';
export { float16Bits, listPretrained, type PretrainedEntry, packPretrained, resolveWeights } from './models/pretrained.js';
export { encoderLayers, PROBE_LAYERS, probeLayerNames } from './models/probe-layers.js';
export { BACKBONE_BUILDERS, NECK_BUILDERS, NECK_FAMILIES, type NeckFamily } from './models/registry.js';
export { compoundScale, type ScaledDims } from './models/scaling.js';
export { type ModelSummary, summarizeModel } from './models/summary.js';
export type { Backbone, BuildContext, Neck } from './models/types.js';
export { listZoo, resolveModelConfig, ZOO_DIR } from './models/zoo.js';
export { ACTIVATIONS, type ActivationName, activate } from './nn/activation.js';
export {
  BatchNormAct,
  Bottleneck,
  BottleneckCSP,
  C3,
  concatChannels,
  cspBlock,
  Downsample,
  DWSeparableConv,
  PlainConv,
  SPP,
  SPPF,
  Upsample,
  upsample,
} from './nn/blocks.js';
export { BatchNorm2d, BN_EPS, BN_MOMENTUM, Conv2d, ConvBnAct, DepthwiseConvBnAct } from './nn/conv.js';
export {
  FoldRefused,
  type FuseReport,
  foldAddAfterConv,
  foldAddBeforeConv,
  foldBatchNorm,
  foldConcatBeforeConv,
  foldMulAfterConv,
  foldMulBeforeConv,
  newFuseReport,
} from './nn/fuse.js';
// Implicit knowledge and inference folding.
export { IMPLICIT_KINDS, ImplicitAdd, ImplicitConcat, type ImplicitKind, ImplicitMul, type ImplicitOptions, ImplicitTensor } from './nn/implicit.js';
// Layers: a small module system over tfjs and the building blocks of the YOLO families.
export { kaimingUniform, type LayerRecord, Module, type Parameter, type ParamGroup, withTrace } from './nn/module.js';
export { bilinearMatrix, resizeBilinearHalfPixel } from './nn/resize.js';
export { foldTaskCode, makeTaskCode, type TaskCodeLayer } from './nn/task-code.js';
export { PRETEXT_DEFAULTS, pretextOptions } from './pretext/options.js';
export { PRETEXT_NAMES, PRETEXT_TASKS, pretextSpec, pretextSpecs } from './pretext/registry.js';
export type { PretextBatch, PretextEncoder, PretextOptions, PretextSpec } from './pretext/types.js';
export { ClassifyHead } from './tasks/classify/head.js';
// The other tasks of the unified network and the multi-task loss.
export { classifyLoss } from './tasks/classify/loss.js';
export { CountHead } from './tasks/count/head.js';
export { countMetrics } from './tasks/count/index.js';
export { countLoss, countTargets, predictedCounts } from './tasks/count/loss.js';
// Detection task: anchors, targets, loss, decoding, NMS.
export { anchorFitness, autoAnchor, evolveAnchors, kmeansAnchors } from './tasks/detect/anchors.js';
export { type Assignment, buildTargets, gridsOfMaps } from './tasks/detect/assign.js';
export { bboxIou } from './tasks/detect/bbox-iou.js';
export { decodePredictions } from './tasks/detect/decode.js';
export { DetectHead } from './tasks/detect/head.js';
export { DEFAULT_DETECTION_HYP, type DetectionHyp, detectionLoss } from './tasks/detect/loss.js';
export { type Detection, nonMaxSuppression, postprocess, postprocessBatch } from './tasks/detect/nms.js';
export { EmbedHead, IdentityClassifier } from './tasks/embed/head.js';
export { type EmbeddingPicks, embedLoss, gatherEmbeddings, gtEmbeddingCells, positiveEmbeddingCells } from './tasks/embed/loss.js';
export {
  checkTaskLabels,
  type DatasetLabelInfo,
  DEFAULT_TASK_WEIGHTS,
  datasetLabelInfo,
  isMultiTask,
  type MultiTaskLossOptions,
  multiTaskLoss,
  parseTaskList,
  parseTaskWeights,
  TASK_LABELS,
  type TaskBatch,
  type TaskGlobalCounts,
  type TaskLossItems,
  taskGlobalCounts,
} from './tasks/multitask.js';
export { TASKS, taskSpec, taskSpecs } from './tasks/registry.js';
export { SegmentHead } from './tasks/segment/head.js';
export { type SegmentLossOptions, segmentArgmax, segmentLoss } from './tasks/segment/loss.js';
export { TaskBalance } from './tasks/task-balance.js';
export type {
  HeadBuildContext,
  TaskEvalBatch,
  TaskEvaluation,
  TaskEvaluator,
  TaskHead,
  TaskLossContext,
  TaskModelConfig,
  TaskNetwork,
  TaskPredictContext,
  TaskPrediction,
  TaskSpec,
} from './tasks/types.js';
export { ModelEma } from './train/ema.js';
export { clipGradNorm, GroupedOptimizer } from './train/optimizer.js';
export { type ImagePrediction, listImages, type PredictOptions, predictImage, predictImages } from './train/predict.js';
export { cocoResultIds, datasetInput, fileResultIds, type PredictInput, type ResultIds, sourceInDataset } from './train/predict-source.js';
export { predictTasks, type TaskPredictions, type TaskPredictOptions } from './train/predict-tasks.js';
export { type PredictWeightsOptions, type PredictWeightsResult, predictWeights } from './train/predict-weights.js';
export { type PretrainOptions, type PretrainResult, pretrain, probeEpoch } from './train/pretrain.js';
export {
  knnPredict,
  linearProbe,
  PROBE_DEFAULTS,
  type ProbeJson,
  type ProbeOptions,
  type ProbeResult,
  type ProbeRow,
  probe,
  rescaleBatchNorm,
  trainLinearClassifier,
  trainSupervised,
} from './train/probe.js';
export { scheduleAt } from './train/schedule.js';
// Training.
export { chooseOptimizer, FREEZE_STAGES, frozenPrefixes, type TrainOptions, type TrainResult, train } from './train/trainer.js';
export { type ValidationResult, validateDetector, validateRunner } from './train/validate.js';
export { type NetworkValidation, validateNetwork } from './train/validate-network.js';
export { type TaskValidationOptions, type TaskValidationResult, validateTasks } from './train/validate-tasks.js';
export { type ValidateWeightsOptions, validateWeights, type WeightsValidation } from './train/validate-weights.js';
// Utilities.
export { ProgressBar, type ProgressBarOptions } from './util/progress.js';
export { Rng } from './util/rng.js';
