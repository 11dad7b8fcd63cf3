/**
 * ONNX runtime via onnxruntime-web: WebGPU (JSEP), WebGL or wasm execution
 * providers. Its wasm glue and binary are served from ./wasm/.
 */
import * as ort from 'onnxruntime-web/all';
import { backendCandidates, firstWorking, type BackendName } from './backend.js';
import { modelUrl, type DemoConfig } from './config.js';
import { inputShape, type DetectorRuntime } from './runtime.js';

ort.env.wasm.wasmPaths = new URL('./wasm/', document.baseURI).href;
ort.env.logLevel = 'error';

/**
 * Automatic order for onnxruntime-web: its WebGL provider is deprecated and
 * lacks ops these graphs use (Split at opset 17), so it is tried only when
 * forced with ?backend=webgl.
 */
const ORT_AUTO: readonly BackendName[] = ['webgpu', 'wasm'];

async function createSession(config: DemoConfig, backend: BackendName): Promise<ort.InferenceSession> {
  if (backend === 'webgpu' && !('gpu' in navigator)) throw new Error('navigator.gpu is missing (WebGPU is not enabled in this browser)');
  if (backend === 'cpu') throw new Error("onnxruntime-web has no 'cpu' provider; use wasm");
  return ort.InferenceSession.create(modelUrl(config.file), { executionProviders: [backend], graphOptimizationLevel: 'all' });
}

export async function createOnnxRuntime(config: DemoConfig, forced: BackendName | null): Promise<DetectorRuntime> {
  const shape = inputShape(config);
  const size = shape.reduce((a, b) => a * b, 1);
  const { backend, value: session, skipped } = await firstWorking(backendCandidates(forced, ORT_AUTO), async (b) => {
    const s = await createSession(config, b);
    try {
      await runSession(s, new Float32Array(size), shape); // warm-up
    } catch (err) {
      await s.release();
      throw err;
    }
    return s;
  });
  return {
    engine: 'onnxruntime-web',
    backend,
    skipped,
    threads: backend === 'wasm' ? (ort.env.wasm.numThreads ?? null) : null,
    run: (input) => runSession(session, input, shape),
    dispose: () => void session.release(),
  };
}

async function runSession(session: ort.InferenceSession, input: Float32Array, shape: readonly number[]): Promise<Float32Array> {
  const inputName = session.inputNames.includes('images') ? 'images' : session.inputNames[0]!;
  const outputName = session.outputNames.includes('detections') ? 'detections' : session.outputNames[0]!;
  const x = new ort.Tensor('float32', input, shape);
  const out = await session.run({ [inputName]: x });
  const y = out[outputName]!;
  try {
    const data = await y.getData();
    if (!(data instanceof Float32Array)) throw new Error(`output '${outputName}' is ${y.type}; expected float32`);
    return data;
  } finally {
    for (const t of Object.values(out)) t.dispose();
  }
}
