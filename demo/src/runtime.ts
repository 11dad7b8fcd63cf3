/**
 * The common face of the two inference engines (TF.js graph model and
 * onnxruntime-web): one letterboxed image in, the graph's decoded rows out
 * (and a multi-task model's label probabilities and class logits).
 */
import type { BackendName } from './backend.js';
import type { DemoConfig } from './config.js';

/** What one run of the graph gives (batch 1, flat row-major). */
export interface ModelOutputs {
  /** Decoded rows [N, 5 + nc]: cx, cy, w, h (input pixels), objectness, class scores. */
  detections: Float32Array;
  /** Multi-task: label probabilities [L] (sigmoid). */
  labels?: Float32Array;
  /** Multi-task: class logits [imgsz, imgsz, nc + 1] of the letterboxed input (channel 0 background). */
  segment?: Float32Array;
}

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
   * imgsz × imgsz, in the config's layout. Resolves to the outputs the
   * config lists (see ModelOutputs).
   */
  run(input: Float32Array): Promise<ModelOutputs>;
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

/** Names the graph's output arrays (in `config.outputs` order) as ModelOutputs. */
export function namedOutputs(names: readonly string[], arrays: readonly Float32Array[]): ModelOutputs {
  const at = (name: string): Float32Array | undefined => {
    const i = names.indexOf(name);
    return i < 0 ? undefined : arrays[i];
  };
  const detections = at('detections');
  if (!detections) throw new Error(`the model gave no 'detections' output (outputs: ${names.join(', ')})`);
  const labels = at('labels');
  const segment = at('segment');
  return { detections, ...(labels ? { labels } : {}), ...(segment ? { segment } : {}) };
}
