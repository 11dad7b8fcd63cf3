/**
 * npm run bench:infer — inference speed of the deploy model (batch norm and
 * implicit knowledge folded; decoding included, NMS not) on every engine we
 * ship, in one run: latency (ms/image at batch 1) and throughput (images/s at
 * batch 8; 4 at 640, where 8 exceeds the wasm heap for yolor-s) at 320 and 640 px for
 *   - tfjs on wasm, plain and with the native kernels (when the addon is built: the
 *     forward half of the ORT-vs-native-kernels question for training),
 *   - tfjs on cpu (the pure-JS reference; smallest model only, fewer rounds),
 *   - onnxruntime-node (the exported ONNX file, dynamic batch), and the same file with
 *     every bias as a separate Add after its Conv (as tfjs applies them: what putting
 *     biases into the Conv buys),
 *   - tfjs-node, when it is installed,
 * with each engine's ratio to onnxruntime-node (latency: engine / ORT; throughput:
 * ORT / engine, so > 1 always means slower than ORT). Timings are the best of
 * interleaved rounds after a warm-up. Options: --quick, --json, --models a,b, --sizes 320,640.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend.js';
import { testImage } from '../src/export/export-model.js';
import { exportOnnx } from '../src/export/onnx/index.js';
import { OnnxDetector } from '../src/export/onnx-runtime.js';
import { tfjsRunner } from '../src/infer/runner.js';
import { Detector } from '../src/models/detector.js';
import { resolveModelConfig } from '../src/models/zoo.js';

interface Row {
  model: string;
  imgsz: number;
  engine: string;
  latencyMs: number;
  throughput: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function best(rounds: number, fn: () => Promise<void>): Promise<number> {
  await fn();
  let t = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

/** Throughput batch: 8, or 4 at 640 and above (a batch of 8 at 640 exceeds the wasm heap for yolor-s). */
function throughputBatch(s: number): number {
  return s >= 640 ? 4 : 8;
}

function batchOf(img: Float32Array, n: number): Float32Array {
  const out = new Float32Array(img.length * n);
  for (let i = 0; i < n; i++) out.set(img, i * img.length);
  return out;
}

async function measureTfjs(backend: 'wasm' | 'native' | 'cpu' | 'node', name: string, s: number, rounds: number): Promise<Row | null> {
  try {
    await initBackend(backend);
  } catch {
    return null;
  }
  const model = new Detector(resolveModelConfig(name)).eval();
  const deploy = model.fuse().model;
  model.dispose();
  const r = tfjsRunner(deploy);
  const x1 = testImage(s);
  const tb = throughputBatch(s);
  const x8 = batchOf(x1, tb);
  const latencyMs = await best(rounds, async () => void (await r.decode(x1, [1, s, s, 3])));
  // The pure-JS cpu backend would take minutes per batch: its throughput is batch 1's.
  const ms8 =
    backend === 'cpu' ? tb * latencyMs : await best(Math.max(1, Math.floor(rounds / 2)), async () => void (await r.decode(x8, [tb, s, s, 3])));
  deploy.dispose();
  return {
    model: name,
    imgsz: s,
    engine: `tfjs ${backend === 'node' ? 'tfjs-node' : backend}${backend === 'cpu' ? ' (b1)' : ''}`,
    latencyMs,
    throughput: (tb * 1000) / ms8,
  };
}

/**
 * onnxruntime-node on the exported file, and on the same export with every bias as a
 * separate Add after its Conv; both sessions are timed in alternation (best of `rounds`
 * each) so that neither gains from running second.
 */
async function measureOrt(name: string, s: number, rounds: number, dir: string): Promise<Row[]> {
  await initBackend('wasm');
  const model = new Detector(resolveModelConfig(name)).eval();
  const dets: OnnxDetector[] = [];
  for (const foldConvBias of [true, false]) {
    const path = join(dir, `${name}-${s}-${foldConvBias}.onnx`);
    await exportOnnx(model, path, { imgsz: s, dynamicBatch: true, foldConvBias });
    dets.push(await OnnxDetector.load(path));
  }
  model.dispose();
  const x1 = testImage(s);
  const tb = throughputBatch(s);
  const x8 = batchOf(x1, tb);
  const lat = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const thr = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (const d of dets) await d.run(x8, tb);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < dets.length; i++) {
      const t0 = performance.now();
      await dets[i]!.run(x1, 1);
      lat[i] = Math.min(lat[i]!, performance.now() - t0);
      const t1 = performance.now();
      await dets[i]!.run(x8, tb);
      thr[i] = Math.min(thr[i]!, performance.now() - t1);
    }
  }
  for (const d of dets) await d.dispose();
  return ['onnxruntime-node', 'ORT, separate bias'].map((engine, i) => ({
    model: name,
    imgsz: s,
    engine,
    latencyMs: lat[i]!,
    throughput: (tb * 1000) / thr[i]!,
  }));
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const json = process.argv.includes('--json');
  const models = (arg('--models') ?? 'yolor-n,yolor-s').split(',');
  const sizes = (arg('--sizes') ?? '320,640').split(',').map(Number);
  const rounds = quick ? 2 : 6;
  const dir = mkdtempSync(join(tmpdir(), 'yolor-bench-infer-'));
  const rows: Row[] = [];
  try {
    for (const name of models) {
      for (const s of sizes) {
        rows.push(...(await measureOrt(name, s, rounds, dir)));
        const w = await measureTfjs('wasm', name, s, rounds);
        if (w) rows.push(w);
        const nat = await measureTfjs('native', name, s, rounds);
        if (nat) rows.push(nat);
        if (name === models[0]) {
          const c = await measureTfjs('cpu', name, s, 1);
          if (c) rows.push(c);
        }
        const n = await measureTfjs('node', name, s, rounds);
        if (n) rows.push(n);
        process.stderr.write(`measured ${name} at ${s}\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await initBackend('wasm');
  }
  const ort = (r: Row) => rows.find((o) => o.engine === 'onnxruntime-node' && o.model === r.model && o.imgsz === r.imgsz)!;
  const out = rows.map((r) => ({ ...r, latencyVsOrt: r.latencyMs / ort(r).latencyMs, throughputOrtOver: ort(r).throughput / r.throughput }));
  if (json) {
    console.log(JSON.stringify({ backendNote: 'tfjs-node rows appear only when it is installed', rows: out }, null, 2));
    return;
  }
  console.log(
    `deploy models (folded), decoding included; latency = best of ${rounds} at batch 1; throughput at batch 8 (4 at 640); tf ${tf.version_core}\n`,
  );
  console.log('model      size  engine               latency ms  × ORT   images/s  ORT ×');
  for (const r of out) {
    console.log(
      `${r.model.padEnd(10)} ${String(r.imgsz).padStart(4)}  ${r.engine.padEnd(19)} ${r.latencyMs.toFixed(1).padStart(11)}  ${r.latencyVsOrt.toFixed(2).padStart(5)}  ` +
        `${r.throughput.toFixed(2).padStart(9)}  ${r.throughputOrtOver.toFixed(2).padStart(5)}`,
    );
  }
}

await main();
