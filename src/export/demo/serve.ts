/**
 * `serveDemo`: exports a checkpoint for the browser (TF.js graph model by
 * default, or ONNX) into a temporary directory and serves the built demo page
 * (`dist-demo/`, from `npm run build:demo`) plus that model under `/model/`
 * and a few sample images of the checkpoint's validation data under
 * `/samples/` (samples.ts) with node:http. The page reads
 * `/model/config.json` (DemoModelConfig) to know what to load and
 * `/samples/samples.json` to know which image to open on.
 *
 * The model is loaded and exported with the current TF.js backend; call
 * initBackend first (the CLI does).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../models/checkpoint.js';
import type { Detector } from '../../models/detector.js';
import { checkpointLabelNames } from '../export-model.js';
import type { DetectorExportMeta } from '../trace-detector.js';
import { type DemoSamples, writeSamples } from './samples.js';
import { staticHandler } from './static-server.js';

/** dist/src/export/demo/serve.js → the package root's dist-demo/ (same layout when installed). */
export const DEMO_DIST = fileURLToPath(new URL('../../../../dist-demo/', import.meta.url));

export type DemoFormat = 'tfjs' | 'onnx';

/** `/model/config.json`: what demo/src/config.ts reads. */
export interface DemoModelConfig {
  format: DemoFormat;
  /** File the page loads from /model/. */
  file: string;
  imgsz: number;
  nc: number;
  names: string[];
  layout: 'NHWC' | 'NCHW';
  model: string;
  /** Graph outputs the page reads: 'detections', then 'labels' and 'segment' for a multi-task model. */
  outputs: string[];
  /** Multi-task: names of the `labels` output's entries (classes, then attributes). */
  labels?: string[];
  /** Multi-task: names of the `segment` output's classes, 'background' first. */
  segment?: string[];
}

export interface ServeDemoOptions {
  /** Checkpoint directory (weights/best or weights/last of a run). */
  weights: string;
  format?: DemoFormat;
  /** Export (and letterbox) size; default the model's. */
  imgsz?: number;
  /** TCP port; 0 picks a free one (default 8080). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** The built page (default: the package's dist-demo/). */
  root?: string;
  /** Sample images: 'auto' (the checkpoint's validation data; default), a directory, or 'none'. */
  samples?: string;
}

export interface DemoServer {
  /** Page URL, e.g. http://127.0.0.1:8080/. */
  url: string;
  /** Where the exported model and config.json are (removed by close). */
  modelDir: string;
  config: DemoModelConfig;
  /** What /samples/samples.json lists. */
  samples: DemoSamples;
  close(): Promise<void>;
}

/** Throws the one-line error the CLI shows when the page has not been built. */
export function checkDemoBuilt(root = DEMO_DIST): string {
  const dir = resolve(root);
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`${dir}: the demo page is not built (run npm run build:demo)`);
  return dir;
}

/** The page's view of an export's outputs. */
function outputsConfig(meta: DetectorExportMeta): Pick<DemoModelConfig, 'outputs' | 'labels' | 'segment'> {
  const t = meta.tasks;
  return {
    outputs: ['detections', ...(t?.labels ? ['labels'] : []), ...(t?.segment ? ['segment'] : [])],
    ...(t?.labels ? { labels: t.labels.names } : {}),
    ...(t?.segment ? { segment: t.segment.names } : {}),
  };
}

/** Exports `model` into `dir` in `format` (with a multi-task model's labels and segment outputs); returns the config the page needs. */
async function exportForDemo(
  model: Detector,
  dir: string,
  format: DemoFormat,
  imgsz: number,
  names: string[],
  labelNames: string[],
): Promise<DemoModelConfig> {
  const base = { imgsz, nc: model.config.nc, names, model: model.config.name };
  const opts = { imgsz, batch: 1, fuse: true, names, labelNames };
  if (format === 'tfjs') {
    const { exportTfjs } = await import('../tfjs/index.js');
    const r = await exportTfjs(model, dir, opts);
    return { format, file: 'model.json', layout: 'NHWC', ...base, ...outputsConfig(r.meta) };
  }
  const { exportOnnx } = await import('../onnx/index.js');
  const r = await exportOnnx(model, join(dir, 'model.onnx'), { ...opts, layout: 'NCHW' });
  return { format, file: 'model.onnx', layout: 'NCHW', ...base, ...outputsConfig(r.meta) };
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((res, rej) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      rej(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is in use (choose another with --port)`
            : `cannot listen on ${host}:${port}: ${err.message}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      res(server.address() as AddressInfo);
    });
  });
}

/** The URL a browser on this machine should open for a server bound to `host`. */
function pageUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}

export async function serveDemo(opts: ServeDemoOptions): Promise<DemoServer> {
  const root = checkDemoBuilt(opts.root);
  const format = opts.format ?? 'tfjs';
  if (format !== 'tfjs' && format !== 'onnx') throw new Error(`unknown demo model format '${String(format)}' (expected tfjs or onnx)`);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  const { model, metadata } = await loadModel(opts.weights);
  // One temporary folder: model/ (the export and config.json) and samples/.
  const tmpRoot = await mkdtemp(join(tmpdir(), 'yolor-demo-'));
  const modelDir = join(tmpRoot, 'model');
  const samplesDir = join(tmpRoot, 'samples');
  let config: DemoModelConfig;
  let samples: DemoSamples;
  try {
    await mkdir(modelDir);
    const imgsz = opts.imgsz ?? (typeof metadata.imgsz === 'number' ? metadata.imgsz : model.config.dims.imgsz);
    const labelNames = checkpointLabelNames(model, metadata);
    const names = labelNames.slice(0, model.config.nc);
    config = await exportForDemo(model, modelDir, format, imgsz, names, labelNames);
    await writeFile(join(modelDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    samples = await writeSamples(samplesDir, { spec: opts.samples ?? 'auto', weights: opts.weights, metadata });
  } catch (err) {
    await rm(tmpRoot, { recursive: true, force: true });
    throw err;
  } finally {
    model.dispose();
  }
  const server = createServer(
    staticHandler([
      { prefix: '/', dir: root },
      { prefix: '/model/', dir: modelDir },
      { prefix: '/samples/', dir: samplesDir },
    ]),
  );
  let address: AddressInfo;
  try {
    address = await listen(server, port, host);
  } catch (err) {
    await rm(tmpRoot, { recursive: true, force: true });
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    url: pageUrl(host, address.port),
    modelDir,
    config,
    samples,
    close() {
      closing ??= new Promise<void>((res) => {
        server.close(() => res());
        server.closeAllConnections();
      }).then(() => rm(tmpRoot, { recursive: true, force: true }));
      return closing;
    },
  };
}
