/**
 * `yolor selftest`: proves the active backend can train the networks we build.
 *  1. kernel checks: every custom kernel (and the built-ins they rely on) against
 *     the pure-JS cpu backend on randomised shapes, relative error ≤ 1e-4;
 *  2. gradient checks: the gradient of every op a detection training step uses,
 *     taken on the active backend, against central finite differences in float32,
 *     relative error ≤ 1e-2.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng.js';
import { compareKernelWithCpu, finiteDifferenceCheck, type GradientCase, type KernelCase } from './check.js';
import { gradientCases } from './selftest-gradients.js';
import { kernelCases } from './selftest-kernels.js';

export const KERNEL_TOLERANCE = 1e-4;
export const GRADIENT_TOLERANCE = 1e-2;

export interface SelftestResult {
  group: 'kernel' | 'gradient';
  name: string;
  detail: string;
  error: number;
  tolerance: number;
  passed: boolean;
}

export interface SelftestReport {
  backend: string;
  results: SelftestResult[];
  passed: boolean;
  seconds: number;
}

export interface SelftestOptions {
  seed?: number;
  /** Fewer random shapes per kernel (used by the test suite's fast path). */
  quick?: boolean;
  onResult?: (r: SelftestResult) => void;
}

/** Runs every check on the currently initialised backend. */
export async function runSelftest(opts: SelftestOptions = {}): Promise<SelftestReport> {
  const backend = tf.getBackend();
  const start = performance.now();
  const rng = new Rng(opts.seed ?? 1234);
  const results: SelftestResult[] = [];
  const record = (r: SelftestResult): void => {
    results.push(r);
    opts.onResult?.(r);
  };
  // The cpu backend is the reference itself: its kernels are not compared with themselves.
  const kcases: KernelCase[] = backend === 'cpu' ? [] : kernelCases(rng, opts.quick ? 3 : 8);
  for (const c of kcases) {
    let error: number;
    try {
      error = await compareKernelWithCpu(backend, c);
    } catch (err) {
      error = Number.POSITIVE_INFINITY;
      c.detail += ` (threw: ${(err as Error).message.split('\n')[0]})`;
    }
    record({ group: 'kernel', name: c.kernelName, detail: c.detail, error, tolerance: KERNEL_TOLERANCE, passed: error <= KERNEL_TOLERANCE });
  }
  const gcases: GradientCase[] = gradientCases(rng);
  for (const c of gcases) {
    let error: number;
    let detail = c.detail;
    try {
      error = finiteDifferenceCheck(c, rng);
    } catch (err) {
      error = Number.POSITIVE_INFINITY;
      detail += ` (threw: ${(err as Error).message.split('\n')[0]})`;
    }
    record({ group: 'gradient', name: c.name, detail, error, tolerance: GRADIENT_TOLERANCE, passed: error <= GRADIENT_TOLERANCE });
  }
  if (tf.getBackend() !== backend) await tf.setBackend(backend);
  return {
    backend,
    results,
    passed: results.every((r) => r.passed),
    seconds: (performance.now() - start) / 1000,
  };
}
