/**
 * Runs an exported .onnx detector with ONNX Runtime (onnxruntime-node, CPU),
 * giving decoded rows exactly like the tfjs path (`decodePredictions` of
 * `model.forward`): [B, N, 5+nc] = cx, cy, w, h, obj, cls….
 *
 * Images always come in as NHWC float32 RGB in [0, 1], letterboxed to the
 * export's size; the runner transposes them for an NCHW export. A fixed-batch
 * export is run one batch at a time (the last chunk zero-padded, its padding
 * rows dropped), so any number of images can be passed. What the file is
 * (names, size, layout, batch, in-graph NMS) is read from its yolor metadata.
 *
 * onnxruntime-node is imported lazily: the rest of the package works without
 * it, and a missing or broken install gives one clear error at load time.
 */
import { readFile } from 'node:fs/promises';
import type * as OrtModule from 'onnxruntime-node';
import { type OnnxExportMeta, parseOnnxMeta } from './onnx/metadata.js';
import { decodeModel } from './onnx/schema.js';

type Ort = typeof OrtModule;
type Session = OrtModule.InferenceSession;

let ortPromise: Promise<Ort> | null = null;

async function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').catch((err: unknown) => {
    ortPromise = null;
    throw new Error(
      `ONNX Runtime is not available: cannot load onnxruntime-node (${(err as Error).message.split('\n')[0]}); install it with 'npm install onnxruntime-node'`,
    );
  });
  return ortPromise;
}

export interface OnnxDetectorOptions {
  /** Intra-op threads of the session (default: ONNX Runtime's choice). */
  threads?: number;
}

export interface OnnxRunResult {
  /** Decoded rows [batch, N, 5+nc], row-major. */
  rows: Float32Array;
  shape: [number, number, number];
  /** With in-graph NMS: [K, 7] rows = batch index, x1, y1, x2, y2, score, class (batch indices of the call). */
  nms?: Float32Array;
}

export class OnnxDetector {
  private constructor(
    /** The .onnx file. */
    readonly path: string,
    readonly meta: OnnxExportMeta,
    private session: Session | null,
    private readonly ort: Ort,
  ) {}

  /** Opens an exported file; errors name it (missing file, not a yolor-ts export, raw maps export). */
  static async load(path: string, options: OnnxDetectorOptions = {}): Promise<OnnxDetector> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `${path}: no such ONNX file` : `${path}: cannot read ONNX file (${code ?? (err as Error).message})`);
    }
    let meta: OnnxExportMeta;
    try {
      meta = parseOnnxMeta(decodeModel(bytes), path);
    } catch (err) {
      const msg = (err as Error).message;
      throw new Error(msg.startsWith(path) ? msg : `${path}: ${msg}`);
    }
    if (meta.output !== 'xywh-obj-cls') throw new Error(`${path}: exports raw head maps; OnnxDetector runs exports with decoded rows`);
    const ort = await loadOrt();
    let session: Session;
    try {
      session = await ort.InferenceSession.create(bytes, {
        ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
        logSeverityLevel: 3,
      });
    } catch (err) {
      throw new Error(`${path}: ONNX Runtime cannot load the model (${(err as Error).message.split('\n')[0]})`);
    }
    if (!session.inputNames.includes(meta.input) || !session.outputNames.includes('detections')) {
      await session.release();
      throw new Error(
        `${path}: expected input '${meta.input}' and output 'detections'; the graph has ${session.inputNames.join(', ')} → ${session.outputNames.join(', ')}`,
      );
    }
    return new OnnxDetector(path, meta, session, ort);
  }

  /** Whether the graph has the in-graph NMS output `nms`. */
  get hasNms(): boolean {
    return this.meta.nms !== null;
  }

  /** The batch size the file is fixed to, or null for a dynamic batch. */
  get fixedBatch(): number | null {
    return this.meta.batch === 'dynamic' ? null : this.meta.batch;
  }

  /** Decoded rows of `batch` NHWC images (float32 RGB in [0, 1], imgsz × imgsz). */
  async run(imagesNHWC: Float32Array, batch: number): Promise<OnnxRunResult> {
    const session = this.session;
    if (!session) throw new Error(`${this.path}: the detector was disposed`);
    const S = this.meta.imgsz;
    const per = S * S * 3;
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`${this.path}: batch must be a positive integer; got ${batch}`);
    if (imagesNHWC.length !== batch * per) {
      throw new Error(`${this.path}: expected ${batch} image(s) of ${S}x${S}x3 (${batch * per} values); got ${imagesNHWC.length} values`);
    }
    const chunk = this.fixedBatch ?? batch;
    let rows: Float32Array | null = null;
    let rowShape: [number, number] = [0, 0];
    const nmsParts: Float32Array[] = [];
    for (let start = 0; start < batch; start += chunk) {
      const n = Math.min(chunk, batch - start);
      let x = imagesNHWC.subarray(start * per, (start + n) * per);
      if (n < chunk) {
        const padded = new Float32Array(chunk * per);
        padded.set(x);
        x = padded;
      }
      const out = await session.run({ [this.meta.input]: this.inputTensor(x, chunk) });
      const det = out.detections!;
      const [, N, no] = det.dims as [number, number, number];
      rowShape = [N, no];
      rows ??= new Float32Array(batch * N * no);
      rows.set((det.data as Float32Array).subarray(0, n * N * no), start * N * no);
      const nms = out.nms;
      if (nms) {
        const d = nms.data as Float32Array;
        for (let k = 0; k + 7 <= d.length; k += 7) {
          if (d[k]! >= n) continue;
          const row = d.slice(k, k + 7);
          row[0] = row[0]! + start;
          nmsParts.push(row);
        }
      }
      for (const t of Object.values(out)) t.dispose?.();
    }
    const result: OnnxRunResult = { rows: rows!, shape: [batch, rowShape[0], rowShape[1]] };
    if (this.hasNms) {
      const nms = new Float32Array(nmsParts.length * 7);
      nmsParts.forEach((r, i) => {
        nms.set(r, i * 7);
      });
      result.nms = nms;
    }
    return result;
  }

  /**
   * Every output of one call on exactly the export's batch (any batch for a dynamic one),
   * by name: `detections`, and a multi-task export's `labels` and `segment` (`nms` too when
   * in the graph). For checks and callers that want the task outputs.
   */
  async runOutputs(imagesNHWC: Float32Array, batch: number): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
    const session = this.session;
    if (!session) throw new Error(`${this.path}: the detector was disposed`);
    const S = this.meta.imgsz;
    if (this.fixedBatch !== null && batch !== this.fixedBatch)
      throw new Error(`${this.path}: this export takes batches of exactly ${this.fixedBatch}; got ${batch}`);
    if (imagesNHWC.length !== batch * S * S * 3)
      throw new Error(`${this.path}: expected ${batch} image(s) of ${S}x${S}x3; got ${imagesNHWC.length} values`);
    const out = await session.run({ [this.meta.input]: this.inputTensor(imagesNHWC, batch) });
    const result: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const [name, t] of Object.entries(out)) {
      result[name] = { data: Float32Array.from(t.data as Float32Array), dims: t.dims.slice() };
      t.dispose?.();
    }
    return result;
  }

  private inputTensor(x: Float32Array, b: number): OrtModule.Tensor {
    const S = this.meta.imgsz;
    if (this.meta.layout === 'NHWC') return new this.ort.Tensor('float32', x, [b, S, S, 3]);
    const hw = S * S;
    const t = new Float32Array(x.length);
    for (let i = 0; i < b; i++) {
      const src = i * hw * 3;
      for (let p = 0; p < hw; p++) {
        t[src + p] = x[src + 3 * p]!;
        t[src + hw + p] = x[src + 3 * p + 1]!;
        t[src + 2 * hw + p] = x[src + 3 * p + 2]!;
      }
    }
    return new this.ort.Tensor('float32', t, [b, 3, S, S]);
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    await s?.release();
  }
}
