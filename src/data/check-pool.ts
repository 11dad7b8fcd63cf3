/**
 * Decodes a list of image files for the pre-flight check, in worker threads
 * (the data loader's pattern: a `check-worker.js` per thread, requests by id,
 * small chunks so that every thread stays busy to the end) or, with 0 workers,
 * on the main thread a few files at a time.
 */
import { Worker } from 'node:worker_threads';
import { type CheckReply, type CheckRequest, type CheckWorkerInit, checkImageFile, type ImageVerdict } from './check-worker.js';

/** Files per request to a worker. */
const CHUNK = 4;
/** Requests each worker holds at once (the next chunk is there when one finishes). */
const IN_FLIGHT = 2;
/** Files decoded at once on the main thread. */
const MAIN_THREAD_CONCURRENCY = 8;

export interface CheckPoolOptions {
  /** Worker threads (0: the main thread); capped by the number of chunks. */
  workers: number;
  /** Called as each file's verdict arrives (progress). */
  onVerdict?: (index: number, verdict: ImageVerdict) => void;
}

async function onMainThread(files: readonly string[], out: ImageVerdict[], onVerdict: CheckPoolOptions['onVerdict']): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < files.length; i = next++) {
      out[i] = await checkImageFile(files[i]!);
      onVerdict?.(i, out[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAIN_THREAD_CONCURRENCY, files.length) }, lane));
}

async function inWorkers(files: readonly string[], n: number, out: ImageVerdict[], onVerdict: CheckPoolOptions['onVerdict']): Promise<void> {
  const chunks: number[][] = [];
  for (let s = 0; s < files.length; s += CHUNK) chunks.push(Array.from({ length: Math.min(CHUNK, files.length - s) }, (_, k) => s + k));
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let sent = 0;
      let answered = 0;
      let failed = false;
      const fail = (err: Error): void => {
        if (!failed) reject(err);
        failed = true;
      };
      const send = (w: Worker): void => {
        if (sent >= chunks.length) return;
        const id = sent++;
        w.postMessage({ id, files: chunks[id]!.map((i) => files[i]!) } satisfies CheckRequest);
      };
      const init: CheckWorkerInit = { kind: 'image-check' };
      for (let k = 0; k < n; k++) {
        const w = new Worker(new URL('./check-worker.js', import.meta.url), { workerData: init });
        w.on('message', (msg: CheckReply) => {
          chunks[msg.id]!.forEach((i, j) => {
            out[i] = msg.verdicts[j]!;
            onVerdict?.(i, out[i]!);
          });
          if (++answered === chunks.length) resolve();
          else send(w);
        });
        w.on('error', (err) => fail(new Error(`image check worker failed: ${err.message}`)));
        w.on('exit', (code) => {
          if (code !== 0) fail(new Error(`image check worker exited with code ${code}`));
        });
        workers.push(w);
        for (let j = 0; j < IN_FLIGHT; j++) send(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Each file's verdict, in the order of `files`. */
export async function checkImageFiles(files: readonly string[], opts: CheckPoolOptions): Promise<ImageVerdict[]> {
  const out = new Array<ImageVerdict>(files.length);
  const n = Math.min(Math.max(0, Math.floor(opts.workers)), Math.ceil(files.length / CHUNK));
  if (n === 0) await onMainThread(files, out, opts.onVerdict);
  else await inWorkers(files, n, out, opts.onVerdict);
  return out;
}
