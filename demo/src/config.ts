/**
 * What the page needs to know about the model it serves: `./model/config.json`,
 * written by `yolor serve-demo` next to the exported model.
 */

/** Written by serve-demo (src/export/demo/serve.ts keeps the same shape). */
export interface DemoConfig {
  format: 'tfjs' | 'onnx';
  /** The model file under ./model/: model.json (tfjs graph model) or model.onnx. */
  file: string;
  /** Square input side the graph was exported at. */
  imgsz: number;
  nc: number;
  names: string[];
  /** Input layout: NHWC for tfjs, NCHW (default) or NHWC for ONNX. */
  layout: 'NHWC' | 'NCHW';
  /** Model name, for display. */
  model?: string;
  /** Graph outputs to read: 'detections', then 'labels' and/or 'segment' for a multi-task model. */
  outputs: string[];
  /** Multi-task: the names of the `labels` output's entries (classes, then attributes). */
  labels?: string[];
  /** Multi-task: the `segment` output's classes, 'background' first. */
  segment?: string[];
}

const MODEL_DIR = './model/';

/** URL of a file of the served model directory. */
export function modelUrl(file: string): string {
  return new URL(MODEL_DIR + file, document.baseURI).href;
}

/** Fetches and checks ./model/config.json; errors say what is wrong in one line. */
export async function loadConfig(): Promise<DemoConfig> {
  const url = modelUrl('config.json');
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} (start the page with 'yolor serve-demo --weights CKPT')`);
  const raw = (await res.json()) as Partial<DemoConfig>;
  const { format, file, imgsz, nc } = raw;
  if (format !== 'tfjs' && format !== 'onnx') throw new Error(`config.json: unknown format '${String(format)}'`);
  if (typeof file !== 'string' || !file) throw new Error('config.json: no model file');
  if (!(typeof imgsz === 'number' && imgsz > 0)) throw new Error('config.json: imgsz must be a positive number');
  if (!(typeof nc === 'number' && nc > 0)) throw new Error('config.json: nc must be a positive number');
  const names = Array.isArray(raw.names) ? raw.names.map(String) : [];
  for (let i = names.length; i < nc; i++) names.push(`class${i}`);
  const layout = raw.layout ?? (format === 'tfjs' ? 'NHWC' : 'NCHW');
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.length > 0 ? v.map(String) : undefined);
  const labels = strings(raw.labels);
  const segment = strings(raw.segment);
  if (segment && segment.length !== nc + 1) throw new Error(`config.json: segment names ${segment.length} classes; expected nc + 1 = ${nc + 1}`);
  const outputs = ['detections', ...(labels ? ['labels'] : []), ...(segment ? ['segment'] : [])];
  return {
    format,
    file,
    imgsz,
    nc,
    names,
    layout,
    outputs,
    ...(raw.model ? { model: raw.model } : {}),
    ...(labels ? { labels } : {}),
    ...(segment ? { segment } : {}),
  };
}
