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

// Files: a file:// model handler for plain tfjs, tensors to and from disk, crash-safe writes.
export {
  fileSystemHandler, registerFileRouter, saveTensors, loadTensors, MODEL_JSON, WEIGHTS_BIN,
} from './io/file-handler.js';
export { writeFileAtomic, writeFilesAtomic, recoverAtomicDir } from './io/atomic-write.js';

// Utilities.
export { ProgressBar, type ProgressBarOptions } from './util/progress.js';
export { Rng } from './util/rng.js';
