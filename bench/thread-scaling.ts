/**
 * What N engines of this machine do together, by kind of work, each engine a
 * tfjs wasm backend in its own worker thread as in data-parallel training:
 *   - compute: 3×3 convolutions on a small feature map that stays in the caches;
 *   - streaming: element-wise adds over tensors far larger than the caches
 *     (memory traffic: three tensor passes per add).
 * Each runs alone and then on N threads at once; `speedup` is
 * N × (time alone / time per thread with N running). Compute scales with the
 * cores; streaming is bounded by the memory bandwidth the cores share. A
 * training step mixes both: batch norm, activations, reductions and the
 * convolutions of the wide, thin early layers stream.
 *
 * Run as a module it is also the worker body (the same file, in a worker thread).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export type WorkKind = 'compute' | 'streaming';

/** Bytes one unit of streaming work moves (20 adds of 16 Mi-element float32 tensors, 3 passes each). */
const STREAM_ELEMENTS = 1 << 24;
const STREAM_ADDS = 20;
export const STREAM_BYTES = STREAM_ADDS * 3 * STREAM_ELEMENTS * 4;

async function runWork(kind: WorkKind, barrier: Int32Array, threads: number): Promise<number> {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend } = await import('../src/engine/backend.js');
  await initBackend('wasm');
  const unit =
    kind === 'compute'
      ? (() => {
          const x = tf.randomNormal([1, 16, 16, 64]) as import('@tensorflow/tfjs-core').Tensor4D;
          const w = tf.randomNormal([3, 3, 64, 64]) as import('@tensorflow/tfjs-core').Tensor4D;
          return (): void => {
            for (let i = 0; i < 400; i++) tf.conv2d(x, w, 1, 'same').dispose();
          };
        })()
      : (() => {
          const a = tf.ones([STREAM_ELEMENTS]);
          const b = tf.ones([STREAM_ELEMENTS]);
          return (): void => {
            for (let i = 0; i < STREAM_ADDS; i++) tf.add(a, b).dispose();
          };
        })();
  unit();
  // Start the timed units together: every engine waits here until all have warmed up.
  Atomics.add(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  for (let seen = Atomics.load(barrier, 0); seen < threads; seen = Atomics.load(barrier, 0)) Atomics.wait(barrier, 0, seen, 50);
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 2; r++) {
    const t = performance.now();
    unit();
    tf.zeros([1]).dataSync(); // wait for the backend
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

interface ScalingJob {
  threadScaling: WorkKind;
  barrier: SharedArrayBuffer;
  threads: number;
}

if (!isMainThread && (workerData as Partial<ScalingJob> | null)?.threadScaling) {
  const job = workerData as ScalingJob;
  void runWork(job.threadScaling, new Int32Array(job.barrier), job.threads).then((ms) => parentPort!.postMessage(ms));
}

/** Milliseconds each of `threads` engines took for one unit of `kind`, all started together. */
async function timeOnThreads(kind: WorkKind, threads: number): Promise<number[]> {
  const barrier = new SharedArrayBuffer(4);
  return Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const job: ScalingJob = { threadScaling: kind, barrier, threads };
          const w = new Worker(new URL(import.meta.url), { workerData: job });
          w.once('message', (ms: number) => {
            resolve(ms);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
}

export interface ScalingRow {
  kind: WorkKind;
  threads: number;
  aloneMs: number;
  togetherMs: number;
  speedup: number;
}

/** Times for 1 engine and for `threads` engines at once, per kind of work. */
export async function measureThreadScaling(threads: number): Promise<ScalingRow[]> {
  const rows: ScalingRow[] = [];
  for (const kind of ['compute', 'streaming'] as const) {
    const alone = Math.min(...(await timeOnThreads(kind, 1)));
    const together = Math.max(...(await timeOnThreads(kind, threads)));
    rows.push({ kind, threads, aloneMs: alone, togetherMs: together, speedup: (threads * alone) / together });
  }
  return rows;
}
