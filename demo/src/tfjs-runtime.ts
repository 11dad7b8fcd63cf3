/**
 * TF.js graph-model runtime: WebGPU, WebGL, wasm (XNNPACK) or the plain-JS cpu
 * backend. The wasm binaries are served from ./wasm/ (copied there by the
 * Vite build), never from a CDN.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { type BackendName, backendCandidates, firstWorking } from './backend.js';
import { type DemoConfig, modelUrl } from './config.js';
import { type DetectorRuntime, inputShape, namedOutputs } from './runtime.js';

setWasmPaths(new URL('./wasm/', document.baseURI).href);
// Keeps tfjs' console quiet about the (expected) failure of a backend we merely try.
tf.env().set('PROD', true);

/** Switches tfjs to `name`, throwing (rather than returning false) when it cannot initialise. */
async function useBackend(name: BackendName): Promise<void> {
  if (name === 'webgpu') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) throw new Error('navigator.gpu is missing (WebGPU is not enabled in this browser)');
    if (!(await gpu.requestAdapter())) throw new Error('no WebGPU adapter (no usable GPU, or WebGPU is blocked here)');
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend '${name}' failed to initialise`);
  await tf.ready();
}

/** Runs the graph for the named outputs, as a list in that order (tfjs returns a lone tensor for one output). */
function execute(model: tf.GraphModel, x: tf.Tensor, names: readonly string[]): tf.Tensor[] {
  const out = model.execute(x, [...names]);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}

export async function createTfjsRuntime(config: DemoConfig, forced: BackendName | null): Promise<DetectorRuntime> {
  if (config.layout !== 'NHWC') throw new Error(`tfjs graph models take NHWC input; config.json says ${config.layout}`);
  const shape = inputShape(config);
  const {
    backend,
    value: model,
    skipped,
  } = await firstWorking(backendCandidates(forced), async (b) => {
    await useBackend(b);
    const m = await tf.loadGraphModel(modelUrl(config.file));
    try {
      // Warm-up: compiles shaders / sets up kernels, so reported latencies are steady-state.
      const x = tf.zeros(shape);
      const ys = execute(m, x, config.outputs);
      await Promise.all(ys.map((y) => y.data()));
      tf.dispose([x, ...ys]);
    } catch (err) {
      m.dispose();
      throw err;
    }
    return m;
  });
  return {
    engine: 'tfjs',
    backend,
    skipped,
    // Threads need a cross-origin isolated page (serve-demo sends COOP/COEP); else 1.
    threads: backend === 'wasm' ? getThreadsCount() : null,
    async run(input) {
      const x = tf.tensor4d(input, shape);
      try {
        // The exported graph has no control flow or dynamic shapes, so the synchronous executor runs it.
        const ys = execute(model, x, config.outputs);
        try {
          return namedOutputs(config.outputs, (await Promise.all(ys.map((y) => y.data()))) as Float32Array[]);
        } finally {
          tf.dispose(ys);
        }
      } finally {
        x.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}
