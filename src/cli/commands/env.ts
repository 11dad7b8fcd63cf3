import os from 'node:os';
import type { BackendInfo, BackendRequest, KernelInUse } from '../../engine/backend.js';
import type { Command } from '../command.js';
import { formatBytes, formatTable } from '../table.js';

export interface EnvReport {
  node: string;
  tfjsCore: string;
  backend: BackendInfo;
  cpuCores: number;
  platform: string;
  arch: string;
  totalMemoryBytes: number;
  /** Kernels this project registers over the backend's own, and which engine computes them. */
  kernels: KernelInUse[];
}

function yesNo(v: boolean | null): string {
  return v === null ? 'n/a (not the wasm backend)' : v ? 'yes' : 'no';
}

export const envCommand: Command = {
  name: 'env',
  summary: 'show Node, TensorFlow.js, the backend in use and why, SIMD, threads, CPU, memory',
  usage: 'yolor env [--backend B] [--json]',
  description:
    'Initialises the requested backend and reports what is actually in use and why; include this\n' +
    'output in bug reports and next to benchmark numbers.',
  options: [{ name: 'json', type: 'boolean', default: false, description: 'print the report as one JSON object' }],
  async run(args) {
    // Loaded lazily so that `yolor --help` and the planned commands stay instant.
    const { initBackend, kernelsInUse } = await import('../../engine/backend.js');
    const { version_core } = await import('@tensorflow/tfjs-core');
    const backend = await initBackend(args.string('backend') as BackendRequest);
    const report: EnvReport = {
      node: process.version,
      tfjsCore: version_core,
      backend,
      cpuCores: os.availableParallelism?.() ?? os.cpus().length,
      platform: process.platform,
      arch: process.arch,
      totalMemoryBytes: os.totalmem(),
      kernels: kernelsInUse(),
    };
    if (args.boolean('json')) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    const rows = [
      ['node', report.node],
      ['tfjs-core', report.tfjsCore],
      ['backend', `${backend.name} (requested: ${backend.requested})`],
      ['reason', backend.reason],
      ['wasm simd', yesNo(backend.simd)],
      ['wasm threads', backend.threads === null ? 'n/a (not the wasm backend)' : String(backend.threads)],
      [
        'native kernels',
        backend.native
          ? `${backend.native.library}, ${backend.native.isa}, ${backend.native.threads} threads (${backend.native.path})`
          : `off: ${backend.nativeUnavailable ?? 'not the wasm backend'}`,
      ],
      ...report.kernels.map((k) => [`  ${k.kernel}`, `${k.engine}: ${k.method}`]),
      ['cpu cores', String(report.cpuCores)],
      ['platform', `${report.platform}/${report.arch}`],
      ['memory', formatBytes(report.totalMemoryBytes)],
    ];
    process.stdout.write(`${formatTable(rows)}\n`);
    return 0;
  },
};
