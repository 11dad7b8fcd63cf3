/**
 * The PyTorch reference of `npm run bench:train`: the same network, generated from the
 * yolor-ts model, trained in PyTorch CPU on the same machine, batch, image size and
 * number of threads, so that the bench can print yolor-ts's images/s as a ratio of it.
 *
 * The network is not described twice. The model is traced once (export/trace.ts, eval
 * mode, unfused, raw head maps: every kernel with its attributes and the shapes of its
 * weights) and bench/torch-reference.py rebuilds that graph as a torch.nn.Module:
 * convolutions and batch norm become trainable nn.Conv2d / nn.BatchNorm2d (training
 * mode, batch statistics, eps and momentum as here), other weights (biases, implicit
 * knowledge) nn.Parameter, and the element-wise, concat, split, pooling and resize
 * kernels their torch equivalents in NCHW, PyTorch's native layout. The script checks
 * every output shape against the trace and that its trainable parameter count equals
 * the model's; a mismatch is an error, not a number.
 *
 * What the measured step holds, as in bench/train.ts: forward, loss, backward, SGD
 * (momentum 0.937, Nesterov, weight decay 5e-4) and an EMA update of the weights. The
 * loss is a plain binary cross-entropy over the head maps (the YOLO loss's target
 * assignment is a few milliseconds of the step either way).
 *
 * PyTorch is a benchmark reference, never a dependency: the interpreter is
 * $YOLOR_TORCH_PYTHON, else the first of python3, /usr/bin/python3 that imports torch
 * (Debian: apt-get install python3-torch); without one the reference is skipped with
 * that note.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { type TraceGraph, traceGraph } from '../src/export/trace.js';
import { Detector } from '../src/models/detector.js';
import { resolveModelConfig } from '../src/models/zoo.js';

export interface TorchReferenceOptions {
  model: string;
  imgsz: number;
  batch: number;
  threads: number;
  /** Measured steps after one warm-up step; the best one counts (as in bench/train.ts). */
  steps: number;
}

export interface TorchReferenceResult {
  imagesPerSecond: number;
  /** Median over the measured steps. */
  medianImagesPerSecond: number;
  python: string;
  torch: string;
  params: number;
  threads: number;
}

/** Constants with at most this many values are sent with their values (scalars, small shapes); weights only by shape. */
const SMALL_CONSTANT = 16;

/** The script in the source tree (this module runs from bench/ or, compiled, from dist/bench/). */
function scriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'torch-reference.py');
  return existsSync(beside) ? beside : resolve(here, '../../bench/torch-reference.py');
}

/** The first interpreter that imports torch, or why there is none. */
export function findTorchPython(): { python: string; torch: string } | { skipped: string } {
  const env = process.env.YOLOR_TORCH_PYTHON;
  const candidates = env ? [env] : ['python3', '/usr/bin/python3'];
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python, torch: r.stdout.trim() };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return {
    skipped: `no PyTorch reference: no python with torch (${tried.join('; ')}); install python3-torch or set YOLOR_TORCH_PYTHON`,
  };
}

/** The traced graph as the JSON the script reads: nodes, and constants by shape (small ones with values). */
export function graphSpec(graph: TraceGraph): unknown {
  const constants: Record<string, { shape: number[]; dtype: string; values?: number[] }> = {};
  for (const [name, c] of graph.constants) {
    constants[name] = { shape: c.shape, dtype: c.dtype, ...(c.values.length <= SMALL_CONSTANT ? { values: Array.from(c.values) } : {}) };
  }
  return {
    inputs: graph.inputs,
    outputs: graph.outputs.map((o) => o.name),
    nodes: graph.nodes.map((n) => ({ kernel: n.kernel, inputs: n.inputs, attrs: n.attrs, outputs: n.outputs, layer: n.layer })),
    constants,
  };
}

/** Traces `model` (eval mode, unfused, raw maps) at batch 1 and the given size; returns the spec and the trainable parameter count. */
export function traceForTorch(model: string, imgsz: number): { spec: unknown; params: number } {
  const detector = new Detector(resolveModelConfig(model));
  detector.eval();
  const x = tf.zeros([1, imgsz, imgsz, 3]);
  try {
    const graph = traceGraph((input) => detector.forward(input as tf.Tensor4D), [x], ['images']);
    const params = detector
      .parameters()
      .filter((p) => p.group !== 'buffer')
      .reduce((s, p) => s + p.variable.size, 0);
    return { spec: graphSpec(graph), params };
  } finally {
    x.dispose();
    detector.dispose();
  }
}

export async function torchReference(opts: TorchReferenceOptions): Promise<TorchReferenceResult | { skipped: string }> {
  const found = findTorchPython();
  if ('skipped' in found) return found;
  const { spec, params } = traceForTorch(opts.model, opts.imgsz);
  const dir = mkdtempSync(join(tmpdir(), 'yolor-torch-'));
  try {
    const specPath = join(dir, 'graph.json');
    writeFileSync(specPath, JSON.stringify(spec));
    const args = [
      scriptPath(),
      '--graph',
      specPath,
      '--batch',
      String(opts.batch),
      '--imgsz',
      String(opts.imgsz),
      '--threads',
      String(opts.threads),
      '--steps',
      String(opts.steps),
      '--params',
      String(params),
    ];
    const r = spawnSync(found.python, args, { encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 1 << 24 });
    const last = r.stdout?.trim().split('\n').pop() ?? '';
    if (r.status !== 0) {
      const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' ');
      throw new Error(`PyTorch reference for ${opts.model} failed: ${why}`);
    }
    const out = JSON.parse(last) as { imagesPerSecond: number; medianImagesPerSecond: number; params: number; torch: string };
    return { ...out, python: found.python, threads: opts.threads };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
