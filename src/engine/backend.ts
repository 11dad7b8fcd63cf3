/**
 * Backend selection. `auto` prefers @tensorflow/tfjs-node (native TensorFlow,
 * an optional install because it downloads libtensorflow), then the wasm backend
 * with the native kernels (the optional addon in native/: oneDNN convolutions and
 * fused batch norm + activation on every core), then the plain offline
 * @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD, one thread). `native` insists on
 * the addon; `wasm` never uses it. `cpu` is the pure-JS reference, far too slow to
 * train convolutional networks.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node build registers no gradient functions; the @tensorflow/tfjs
// package's Node build does (into the process-wide registry that every copy of
// tfjs-core shares), so it is loaded for that side effect. tfjs-node loads it too.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerFileRouter } from '../io/file-handler.js';
import { registerCpuFixes, registerTrainingKernels, TRAINING_KERNELS } from './kernels/index.js';
import { activeNativeAddon, loadNativeAddon, NATIVE_HOW_TO, NATIVE_KERNELS, registerNativeKernels, unregisterNativeKernels } from './native/index.js';

export type BackendRequest = 'auto' | 'native' | 'node' | 'wasm' | 'cpu';
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'native', 'node', 'wasm', 'cpu'];

/** The native addon in use (wasm backend with native kernels). */
export interface NativeInfo {
  library: string;
  isa: string;
  threads: number;
  path: string;
}

export interface BackendInfo {
  /** The tfjs backend in use: 'tensorflow' (tfjs-node), 'wasm' or 'cpu'. */
  name: string;
  requested: BackendRequest;
  /** Why this backend was chosen. */
  reason: string;
  simd: boolean | null;
  threads: number | null;
  /** The native kernels in use on the wasm backend, or null. */
  native: NativeInfo | null;
  /** Why the native kernels are not in use (null when they are, or for other backends). */
  nativeUnavailable: string | null;
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

/** Registers the native kernels on the wasm backend; returns what is in use or why not. */
function enableNative(): { native: NativeInfo | null; why: string | null } {
  const load = loadNativeAddon();
  if (!load.addon) {
    unregisterNativeKernels('wasm');
    return { native: null, why: load.reason };
  }
  registerNativeKernels(load.addon, 'wasm');
  return { native: { ...load.addon.info(), path: load.path }, why: null };
}

async function describe(
  name: string,
  requested: BackendRequest,
  reason: string,
  native: NativeInfo | null = null,
  nativeUnavailable: string | null = null,
): Promise<BackendInfo> {
  let simd: boolean | null = null;
  let threads: number | null = null;
  if (name === 'wasm') {
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    threads = wasm.getThreadsCount();
  }
  return { name, requested, reason, simd, threads, native, nativeUnavailable };
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
      const { native, why } = enableNative();
      current = native
        ? await describe(
            'wasm',
            requested,
            `${failure}; using the WebAssembly backend with the native kernels (${native.library}, ${native.isa})`,
            native,
          )
        : await describe('wasm', requested, `${failure}; using the offline WebAssembly backend (native kernels off: ${why})`, null, why);
    }
  } else if (requested === 'native') {
    await activate('wasm');
    const { native, why } = enableNative();
    if (!native) throw new Error(`--backend native: ${why}`);
    current = await describe('wasm', requested, `requested explicitly (${native.library}, ${native.isa})`, native);
  } else {
    if (requested === 'wasm') unregisterNativeKernels('wasm');
    await activate(requested);
    current = await describe(requested, requested, 'requested explicitly', null, requested === 'wasm' ? 'plain wasm requested' : null);
  }
  // tfjs-node brings its own file:// handler; plain tfjs has none.
  registerFileRouter();
  return current;
}

/** The backend selected by the last initBackend call, or null. */
export function currentBackend(): BackendInfo | null {
  return current;
}

/** The request that selects the backend in use now (for another thread's engine, say): node, cpu, native or wasm. */
export function currentBackendRequest(): Exclude<BackendRequest, 'auto'> {
  const name = tf.getBackend();
  if (name === 'tensorflow') return 'node';
  if (name === 'cpu') return 'cpu';
  return current?.native ? 'native' : 'wasm';
}

export { NATIVE_HOW_TO };

export interface KernelInUse {
  kernel: string;
  method: string;
  /** 'native' (the addon), 'wasm' (a TypeScript/wasm replacement in engine/kernels). */
  engine: 'native' | 'wasm';
}

/** The kernels this project registers over the backend's own, for `yolor env`. */
export function kernelsInUse(): KernelInUse[] {
  if (tf.getBackend() !== 'wasm') return [];
  const native = activeNativeAddon() ? NATIVE_KERNELS.map((k) => ({ kernel: k.kernelName, method: k.method, engine: 'native' as const })) : [];
  const names = new Set(native.map((k) => k.kernel));
  const wasm = TRAINING_KERNELS.filter((k) => !names.has(k.kernelName)).map((k) => ({
    kernel: k.kernelName,
    method: k.method,
    engine: 'wasm' as const,
  }));
  return [...native, ...wasm];
}
