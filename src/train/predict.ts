/**
 * Prediction on image files: letterbox → model → decode → NMS → boxes in the
 * original image's pixels.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { evalTransform } from '../data/augment/pipeline.js';
import { decodeImage } from '../data/image-io.js';
import type { RgbImage } from '../data/types.js';
import { Detector } from '../models/detector.js';
import { tfjsRunner, type DetectionRunner } from '../infer/runner.js';
import { postprocess, type Detection } from '../tasks/detect/nms.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'];

/** The image files of a file or a directory (sorted); errors name the path. */
export function listImages(source: string): string[] {
  const path = resolve(source);
  if (!existsSync(path)) throw new Error(`${source}: no such file or directory`);
  if (statSync(path).isFile()) return [path];
  const files = readdirSync(path).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort().map((f) => join(path, f));
  if (files.length === 0) throw new Error(`${source}: no images (${IMAGE_EXTENSIONS.join(', ')}) in this directory`);
  return files;
}

export interface PredictOptions {
  imgsz: number;
  conf: number;
  iou: number;
  maxDet: number;
}

export interface ImagePrediction {
  file: string;
  image: RgbImage;
  detections: Detection[];
}

/**
 * Detections of one image file by a tfjs model or any runner (an exported ONNX
 * or TF.js model): letterbox to `imgsz`, decode, NMS, boxes back in the
 * original image's pixels.
 */
export async function predictImage(model: Detector | DetectionRunner, file: string, opts: PredictOptions): Promise<ImagePrediction> {
  const runner = model instanceof Detector ? tfjsRunner(model) : model;
  if (!runner.anySize && opts.imgsz !== runner.imgsz) {
    throw new Error(`${runner.engine}: this model was exported for ${runner.imgsz} px inputs; use --imgsz ${runner.imgsz}`);
  }
  const image = await decodeImage(file);
  const lb = evalTransform({ image, boxes: new Float32Array(0), cls: new Int32Array(0), file }, opts.imgsz);
  const o = lb.original!;
  const pixels = new Float32Array(lb.image.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = lb.image.data[i]! / 255;
  const decoded = await runner.decode(pixels, [1, lb.image.height, lb.image.width, 3]);
  const dets = postprocess(decoded, runner.nc, { confThres: opts.conf, iouThres: opts.iou, maxDet: opts.maxDet });
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const detections = dets.map((d) => ({
    ...d,
    box: [clip((d.box[0] - o.padX) / o.scale, image.width), clip((d.box[1] - o.padY) / o.scale, image.height),
      clip((d.box[2] - o.padX) / o.scale, image.width), clip((d.box[3] - o.padY) / o.scale, image.height)] as [number, number, number, number],
  }));
  return { file, image, detections };
}
