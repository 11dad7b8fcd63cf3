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
export { DetectHead } from './tasks/detect/head.js';
export { Detector, type TaskOutputs } from './models/detector.js';
export { ClassifyHead } from './tasks/classify/head.js';
export { SegmentHead } from './tasks/segment/head.js';
export { EmbedHead, IdentityClassifier } from './tasks/embed/head.js';
export { CountHead } from './tasks/count/head.js';
export { countLoss, countTargets, predictedCounts } from './tasks/count/loss.js';
export { countMetrics } from './tasks/count/index.js';
export { TaskBalance } from './tasks/task-balance.js';
export { makeTaskCode, foldTaskCode, type TaskCodeLayer } from './nn/task-code.js';
export { TASKS, taskSpec, taskSpecs } from './tasks/registry.js';
export type {
  TaskSpec, TaskHead, TaskNetwork, TaskEvaluator, TaskEvaluation, TaskPrediction, TaskPredictContext, TaskLossContext, HeadBuildContext,
  TaskModelConfig, TaskEvalBatch,
} from './tasks/types.js';
export { configForDataset } from './models/dataset-config.js';
export { NECK_FAMILIES, type NeckFamily } from './models/registry.js';
export { resizeBilinearHalfPixel, bilinearMatrix } from './nn/resize.js';
export { parseModelConfig, readModelConfig, serializeModelConfig, DEFAULT_ANCHORS, TASK_NAMES, type ModelConfig, type TaskName, type TaskWeighting, type RefineMode } from './models/config.js';
export { compoundScale, type ScaledDims } from './models/scaling.js';
export { fitImageSize, maxStrideOf, type FittedImageSize } from './models/image-size.js';
export { listZoo, resolveModelConfig, ZOO_DIR } from './models/zoo.js';
export { summarizeModel, type ModelSummary } from './models/summary.js';
export { saveModel, loadModel, loadWeightsInto } from './models/checkpoint.js';
export { BACKBONE_BUILDERS, NECK_BUILDERS } from './models/registry.js';
export type { Backbone, Neck, BuildContext } from './models/types.js';

// Implicit knowledge and inference folding.
export { ImplicitAdd, ImplicitMul, ImplicitConcat, ImplicitTensor, IMPLICIT_KINDS, type ImplicitKind, type ImplicitOptions } from './nn/implicit.js';
export {
  foldBatchNorm, foldAddBeforeConv, foldMulBeforeConv, foldConcatBeforeConv, foldMulAfterConv, foldAddAfterConv,
  FoldRefused, newFuseReport, type FuseReport,
} from './nn/fuse.js';
export { NO_IMPLICIT, type ImplicitConfig, type AlignOp } from './models/config.js';

// Data: formats, datasets, augmentation, loader.
export type { DetectionDataset, ImageRecord, Annotation, BadInput, Sample, RgbImage } from './data/types.js';
export { loadDetectionDataset, loadDetectionDatasetAsync, datasetSplit, BUILTIN_DATASETS } from './data/resolve.js';
export { DATASET_FORMATS, datasetFormat, writeDataset } from './data/formats/registry.js';
export { FORMAT_NAMES, WRITABLE_FORMATS, type FormatName, type WritableFormat, type DatasetFormatRequest } from './data/formats/names.js';
export type { DatasetFormat, DatasetReader, FormatMatch, FormatReadOptions } from './data/formats/format.js';
export type { WriteOptions, WriteResult } from './data/formats/writing.js';
export { readVoc } from './data/formats/voc/read.js';
export { readCoco } from './data/formats/coco/read.js';
export { cocoMask } from './data/formats/coco/segmentation.js';
export { readYolo } from './data/formats/yolo/read.js';
export { readIdxImages, readIdxLabels } from './data/formats/idx.js';
export { BUILTIN_DATASET_REGISTRY, builtinDataset, type BuiltinDataset, type BuiltinLoadOptions } from './data/datasets/registry.js';
export { shapesDataset } from './data/datasets/shapes.js';
export { readInstanceCache, isInstanceCacheDir } from './data/datasets/instance-cache.js';
export { fashionDataset } from './data/datasets/fashion.js';
export { encodeRle, decodeRle, maskToRle, rleToMask, type CocoRle, type RleOrder } from './data/rle.js';
export { decodeImage, encodePng, encodeJpeg, writeImage } from './data/image-io.js';
export { trainTransform, evalTransform, DEFAULT_HYP, type AugmentHyp } from './data/augment/pipeline.js';
export { letterboxParams, unletterboxBoxes } from './data/letterbox.js';
export { DataLoader, type Batch, type LoaderOptions } from './data/loader.js';
export { computeDatasetStats } from './data/stats.js';
export { verifyImages, applyImageReport, describeImageReport, type ImageReport, type VerifyOptions } from './data/verify.js';
export { ImageCheckCache, defaultImageCheckCache } from './data/check-cache.js';

// Detection task: anchors, targets, loss, decoding, NMS.
export { autoAnchor, anchorFitness, kmeansAnchors, evolveAnchors } from './tasks/detect/anchors.js';
export { buildTargets, gridsOfMaps, type Assignment } from './tasks/detect/assign.js';
export { detectionLoss, DEFAULT_DETECTION_HYP, type DetectionHyp } from './tasks/detect/loss.js';
// The other tasks of the unified network and the multi-task loss.
export { classifyLoss } from './tasks/classify/loss.js';
export { segmentLoss, segmentArgmax, type SegmentLossOptions } from './tasks/segment/loss.js';
export { embedLoss, positiveEmbeddingCells, gtEmbeddingCells, gatherEmbeddings, type EmbeddingPicks } from './tasks/embed/loss.js';
export {
  multiTaskLoss, checkTaskLabels, datasetLabelInfo, parseTaskList, parseTaskWeights, isMultiTask, TASK_LABELS, DEFAULT_TASK_WEIGHTS,
  taskGlobalCounts, type DatasetLabelInfo, type TaskBatch, type TaskLossItems, type MultiTaskLossOptions, type TaskGlobalCounts,
} from './tasks/multitask.js';
export { bboxIou } from './tasks/detect/bbox-iou.js';
export { decodePredictions } from './tasks/detect/decode.js';
export { postprocess, postprocessBatch, nonMaxSuppression, type Detection } from './tasks/detect/nms.js';

// Evaluation.
export { evaluateCoco, formatCocoSummary, type CocoGt, type CocoDet, type CocoEvalResult } from './eval/coco.js';
export { loadCocoGt, loadCocoDetections } from './eval/coco-json.js';
export { evaluateVoc } from './eval/voc.js';
export { detectionMetrics } from './eval/detection-metrics.js';

// Evaluation for multi-label classification, semantic segmentation and cross-image retrieval.
export { multiLabelAP, multiLabelF1 } from './eval/multilabel-metrics.js';
export { SegmentationConfusion } from './eval/segmentation-metrics.js';
export { retrievalMetrics, type RetrievalResult } from './eval/retrieval-metrics.js';

// Training.
export { train, chooseOptimizer, type TrainOptions, type TrainResult } from './train/trainer.js';
export { validateDetector, validateRunner, type ValidationResult } from './train/validate.js';
export { validateTasks, type TaskValidationResult, type TaskValidationOptions } from './train/validate-tasks.js';
export { validateNetwork, type NetworkValidation } from './train/validate-network.js';
export { validateWeights, type ValidateWeightsOptions, type WeightsValidation } from './train/validate-weights.js';
export { predictWeights, type PredictWeightsOptions, type PredictWeightsResult } from './train/predict-weights.js';
export { predictTasks, type TaskPredictions, type TaskPredictOptions } from './train/predict-tasks.js';
export { predictImage, predictImages, listImages, type ImagePrediction, type PredictOptions } from './train/predict.js';
export { datasetInput, sourceInDataset, cocoResultIds, fileResultIds, type PredictInput, type ResultIds } from './train/predict-source.js';
export { GroupedOptimizer, clipGradNorm } from './train/optimizer.js';
export { scheduleAt } from './train/schedule.js';
export { ModelEma } from './train/ema.js';

// Export and deployment: kernel-level tracing → ONNX / TF.js graph model; engines behind one runner interface.
export { traceGraph, kernelHistogram, type TraceGraph, type TraceNode } from './export/trace.js';
export { exportOutputNames, traceDetector, type TracedDetector, type DetectorExportMeta, type TaskOutputsMeta, type TraceDetectorOptions } from './export/trace-detector.js';
export { UnsupportedExportError } from './export/errors.js';
export { exportOnnx, graphToOnnx, readOnnxMetadata, type OnnxExportOptions } from './export/onnx/index.js';
export { OnnxDetector } from './export/onnx-runtime.js';
export { exportTfjs, graphToTfjs, readTfjsMetadata, loadTfjsDetector, type TfjsDetector } from './export/tfjs/index.js';
export { exportCheckpoint, exportDetector, ExportCheckError, type ExportOptions, type ExportResult } from './export/export-model.js';
export { compareDecodedRows, checkVerdict, EXPORT_CHECK_TOLERANCE, type ExportCheck, type OutputDifference } from './export/check-export.js';
export { tfjsRunner, runnerImageSize, type DetectionRunner } from './infer/runner.js';
export {
  loadRunner, registerRunnerLoader, runnerLoaders, checkpointRunnerLoader, modelJsonPath, type RunnerLoader,
} from './infer/load-runner.js';
// Importing the export layer's loaders registers them, so that loadRunner opens ONNX files and TF.js graph models too.
export { onnxRunnerLoader, tfjsGraphRunnerLoader } from './export/runner-loaders.js';

// Files: a file:// model handler for plain tfjs, tensors to and from disk, crash-safe writes.
export {
  fileSystemHandler, registerFileRouter, saveTensors, loadTensors, MODEL_JSON, WEIGHTS_BIN,
} from './io/file-handler.js';
export { writeFileAtomic, writeFilesAtomic, recoverAtomicDir } from './io/atomic-write.js';

// Utilities.
export { ProgressBar, type ProgressBarOptions } from './util/progress.js';
export { Rng } from './util/rng.js';

// Ablation studies: per-variant mean ± std over seeds as Markdown, JSON and a bar chart.
export {
  meanStd, formatMeanStd, formatCount, lowerIsBetter, suiteMarkdown, writeSuiteReport,
  type VariantResult, type SuiteReport, type MeanStd, type SuiteResultsJson,
} from './ablate/report.js';
export { SUITES, findSuite, METRIC_COLUMNS, type AblationSuite, type AblationVariant, type AblationRun } from './ablate/suites.js';
export { runAblation, runConfig, matchWidth, type AblateOptions, type AblateResult } from './ablate/run-suite.js';
