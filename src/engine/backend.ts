/**
 * Backend selection. `auto` prefers @tensorflow/tfjs-node (native TensorFlow,
 * an optional install because it downloads libtensorflow) and falls back to the
 * offline @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD). `cpu` is the pure-JS
 * reference, far too slow to train convolutional networks.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node build registers no gradient functions; the @tensorflow/tfjs
// package's Node build does (into the process-wide registry that every copy of
// tfjs-core shares), so it is loaded for that side effect. tfjs-node loads it too.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerFileRouter } from '../io/file-handler.js';
import { registerCpuFixes, registerTrainingKernels } from './kernels/index.js';

export type BackendRequest = 'auto' | 'node' | 'wasm' | 'cpu';
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'node', 'wasm', 'cpu'];

export interface BackendInfo {
  /** The tfjs backend in use: 'tensorflow' (tfjs-node), 'wasm' or 'cpu'. */
  name: string;
  requested: BackendRequest;
  /** Why this backend was chosen. */
  reason: string;
  simd: boolean | null;
  threads: number | null;
}

let nodeLoad: Promise<string | null> | null = null;

/** Tries to load @tensorflow/tfjs-node; resolves to null on success, else the reason it failed. */
function loadTfjsNode(): Promise<string | null> {
  nodeLoad ??= (async () => {
    try {
      const spec = '@tensorflow/tfjs-node';
      await import(spec);
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0] ?? String(err);
      return /Cannot find (package|module)/.test(msg) ? '@tensorflow/tfjs-node is not installed' : `@tensorflow/tfjs-node failed to load: ${msg}`;
    }
    if (!tf.findBackend('tensorflow')) {
      return '@tensorflow/tfjs-node loaded but registered its backend with a different @tensorflow/tfjs-core (version mismatch)';
    }
    return null;
  })();
  return nodeLoad;
}

async function activate(name: string): Promise<void> {
  if (name === 'wasm') registerTrainingKernels('wasm');
  if (name === 'cpu') registerCpuFixes();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend '${name}' failed to initialise`);
  await tf.ready();
}

async function describe(name: string, requested: BackendRequest, reason: string): Promise<BackendInfo> {
  let simd: boolean | null = null;
  let threads: number | null = null;
  if (name === 'wasm') {
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    threads = wasm.getThreadsCount();
  }
  return { name, requested, reason, simd, threads };
}

let current: BackendInfo | null = null;

/**
 * Selects and initialises a backend; returns what is actually in use and why.
 * Throws with a one-line message when an explicitly requested backend is unavailable.
 */
export async function initBackend(requested: BackendRequest = 'auto'): Promise<BackendInfo> {
  if (!BACKEND_REQUESTS.includes(requested)) {
    throw new Error(`unknown backend '${requested}' (expected one of ${BACKEND_REQUESTS.join(', ')})`);
  }
  if (requested === 'node') {
    const failure = await loadTfjsNode();
    if (failure) throw new Error(`--backend node: ${failure}; install it with 'npm install @tensorflow/tfjs-node' or use --backend wasm`);
    await activate('tensorflow');
    current = await describe('tensorflow', requested, 'requested explicitly');
  } else if (requested === 'auto') {
    const failure = await loadTfjsNode();
    if (failure === null) {
      await activate('tensorflow');
      current = await describe('tensorflow', requested, '@tensorflow/tfjs-node is installed (native TensorFlow)');
    } else {
      await activate('wasm');
      current = await describe('wasm', requested, `${failure}; using the offline WebAssembly backend`);
    }
  } else {
    await activate(requested);
    current = await describe(requested, requested, 'requested explicitly');
  }
  // tfjs-node brings its own file:// handler; plain tfjs has none.
  registerFileRouter();
  return current;
}

/** The backend selected by the last initBackend call, or null. */
export function currentBackend(): BackendInfo | null {
  return current;
}

/** The request that selects the backend in use now (for another thread's engine, say): node, cpu or wasm. */
export function currentBackendRequest(): Exclude<BackendRequest, 'auto'> {
  const name = tf.getBackend();
  return name === 'tensorflow' ? 'node' : name === 'cpu' ? 'cpu' : 'wasm';
}
