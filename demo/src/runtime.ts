/**
 * The common face of the two inference engines (TF.js graph model and
 * onnxruntime-web): one letterboxed image in, the graph's decoded rows out.
 */
import type { BackendName } from './backend.js';
import type { DemoConfig } from './config.js';

export interface DetectorRuntime {
  /** 'tfjs' or 'onnxruntime-web'. */
  readonly engine: string;
  /** The backend / execution provider actually running the graph. */
  readonly backend: BackendName;
  /** Better backends passed over in automatic choice, each with the reason. */
  readonly skipped: readonly string[];
  /** CPU threads of a wasm backend (null when not applicable or unknown). */
  readonly threads: number | null;
  /**
   * Runs the graph on one image: `input` is RGB in [0, 1], letterboxed to
   * imgsz × imgsz, in the config's layout. Resolves to the rows
   * [cx, cy, w, h, obj, cls…] (flat, 5 + nc per row, input pixels).
   */
  run(input: Float32Array): Promise<Float32Array>;
  dispose(): void;
}

/** Loads the model of `config` on the forced backend, or on the best one that starts (lazy-loads the engine). */
export async function createRuntime(config: DemoConfig, forced: BackendName | null): Promise<DetectorRuntime> {
  if (config.format === 'tfjs') {
    const { createTfjsRuntime } = await import('./tfjs-runtime.js');
    return createTfjsRuntime(config, forced);
  }
  const { createOnnxRuntime } = await import('./onnx-runtime.js');
  return createOnnxRuntime(config, forced);
}

/** Input tensor shape for the config's layout (batch 1). */
export function inputShape(config: DemoConfig): [number, number, number, number] {
  const s = config.imgsz;
  return config.layout === 'NCHW' ? [1, 3, s, s] : [1, s, s, 3];
}
