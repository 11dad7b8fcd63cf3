/**
 * ONNX runtime via onnxruntime-web: WebGPU (JSEP), WebGL or wasm execution
 * providers. Its wasm glue and binary are served from ./wasm/.
 */
import * as ort from 'onnxruntime-web/all';
import { type BackendName, backendCandidates, firstWorking } from './backend.js';
import { type DemoConfig, modelUrl } from './config.js';
import { type DetectorRuntime, inputShape, type ModelOutputs, namedOutputs } from './runtime.js';

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
  const {
    backend,
    value: session,
    skipped,
  } = await firstWorking(backendCandidates(forced, ORT_AUTO), async (b) => {
    const s = await createSession(config, b);
    try {
      await runSession(s, new Float32Array(size), shape, config.outputs); // warm-up
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
    run: (input) => runSession(session, input, shape, config.outputs),
    dispose: () => void session.release(),
  };
}

async function runSession(
  session: ort.InferenceSession,
  input: Float32Array,
  shape: readonly number[],
  names: readonly string[],
): Promise<ModelOutputs> {
  const inputName = session.inputNames.includes('images') ? 'images' : session.inputNames[0]!;
  const missing = names.filter((n) => !session.outputNames.includes(n));
  if (missing.length) throw new Error(`the ONNX model has no output ${missing.join(', ')} (it has ${session.outputNames.join(', ')})`);
  const x = new ort.Tensor('float32', input, shape);
  const out = await session.run({ [inputName]: x }, [...names]);
  try {
    const arrays = await Promise.all(
      names.map(async (name) => {
        const y = out[name]!;
        const data = await y.getData();
        if (!(data instanceof Float32Array)) throw new Error(`output '${name}' is ${y.type}; expected float32`);
        return data;
      }),
    );
    return namedOutputs(names, arrays);
  } finally {
    for (const t of Object.values(out)) t.dispose();
  }
}
