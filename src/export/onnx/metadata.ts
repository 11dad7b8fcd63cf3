/**
 * What an exported .onnx file says about itself, in ModelProto.metadata_props:
 *
 *   yolor      JSON of the export metadata (DetectorExportMeta plus the ONNX
 *              specifics below); the one key tools must read
 *   names      JSON list of class names
 *   imgsz      input side in pixels
 *   stride     largest stride (input sizes must be multiples of it)
 *   letterbox  JSON of the letterbox rule (grey 114, centred, RGB in [0, 1])
 *
 * The plain keys are for generic tools (Netron, other runtimes) that do not
 * parse the `yolor` JSON.
 */
import type { DetectorExportMeta } from '../trace-detector.js';
import type { NmsOptions } from './nms.js';
import type { ModelProto, StringStringEntryProto } from './schema.js';

export interface OnnxExportMeta extends DetectorExportMeta {
  /** Layout of the `images` input: [B, 3, H, W] (NCHW) or [B, H, W, 3] (NHWC). */
  layout: 'NCHW' | 'NHWC';
  /** The fixed batch size, or 'dynamic'. */
  batch: number | 'dynamic';
  /** In-graph NMS settings (second output `nms`), or null. */
  nms: NmsOptions | null;
  opset: number;
  /** Graph input and output names. */
  input: string;
  outputs: string[];
}

export const META_KEY = 'yolor';

export function metadataProps(meta: OnnxExportMeta): StringStringEntryProto[] {
  return [
    { key: META_KEY, value: JSON.stringify(meta) },
    { key: 'names', value: JSON.stringify(meta.names) },
    { key: 'imgsz', value: String(meta.imgsz) },
    { key: 'stride', value: String(Math.max(...meta.strides)) },
    { key: 'letterbox', value: JSON.stringify(meta.letterbox) },
  ];
}

/** The export metadata of a decoded model; `file` names the source in errors. */
export function parseOnnxMeta(model: ModelProto, file: string): OnnxExportMeta {
  const entry = (model.metadata_props ?? []).find((p) => p.key === META_KEY);
  if (!entry?.value) throw new Error(`${file}: not a yolor-ts ONNX export (no '${META_KEY}' metadata)`);
  let meta: OnnxExportMeta;
  try {
    meta = JSON.parse(entry.value) as OnnxExportMeta;
  } catch (err) {
    throw new Error(`${file}: invalid '${META_KEY}' metadata (${(err as Error).message})`);
  }
  if (
    meta.format !== 'yolor-ts' ||
    !Array.isArray(meta.names) ||
    typeof meta.imgsz !== 'number' ||
    (meta.layout !== 'NCHW' && meta.layout !== 'NHWC')
  ) {
    throw new Error(`${file}: '${META_KEY}' metadata is not a yolor-ts ONNX export description`);
  }
  return meta;
}
