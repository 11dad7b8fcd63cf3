/**
 * Prediction on image files: letterbox → model → decode → NMS → boxes in the
 * original image's pixels.
 */
import { evalTransform } from '../data/augment/pipeline.js';
import { decodeImage } from '../data/image-io.js';
import { unletterboxBoxes } from '../data/letterbox.js';
import type { RgbImage } from '../data/types.js';
import { type DetectionRunner, tfjsRunner } from '../infer/runner.js';
import { Detector } from '../models/detector.js';
import { type Detection, postprocess } from '../tasks/detect/nms.js';

export { IMAGE_EXTENSIONS, listImages } from '../data/image-files.js';

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
 * Detections of image files by a tfjs model or any runner (an exported ONNX or
 * TF.js model, or data-parallel replicas): each image is letterboxed to `imgsz`,
 * `batch` images at a time go through the model together (a replica pool splits
 * them across its workers), then NMS per image and boxes back in the original
 * image's pixels. Results come in the order of `files`.
 */
export async function predictImages(
  model: Detector | DetectionRunner,
  files: string[],
  opts: PredictOptions & { batch?: number },
): Promise<ImagePrediction[]> {
  const runner = model instanceof Detector ? tfjsRunner(model) : model;
  if (!runner.anySize && opts.imgsz !== runner.imgsz) {
    throw new Error(`${runner.engine}: this model was exported for ${runner.imgsz} px inputs; use --imgsz ${runner.imgsz}`);
  }
  const batch = Math.max(1, opts.batch ?? 1);
  const out: ImagePrediction[] = [];
  for (let s = 0; s < files.length; s += batch) {
    const chunk = files.slice(s, s + batch);
    const images = await Promise.all(chunk.map((f) => decodeImage(f)));
    const boxes = images.map((image, i) => evalTransform({ image, boxes: new Float32Array(0), cls: new Int32Array(0), file: chunk[i]! }, opts.imgsz));
    const { width: w, height: h } = boxes[0]!.image;
    const per = w * h * 3;
    const pixels = new Float32Array(per * chunk.length);
    boxes.forEach((lb, i) => {
      const d = lb.image.data;
      for (let k = 0; k < per; k++) pixels[i * per + k] = d[k]! / 255;
    });
    const decoded = await runner.decode(pixels, [chunk.length, h, w, 3]);
    const rowsPer = decoded.length / chunk.length;
    chunk.forEach((file, i) => {
      const image = images[i]!;
      const o = boxes[i]!.original!;
      const dets = postprocess(decoded.subarray(i * rowsPer, (i + 1) * rowsPer), runner.nc, {
        confThres: opts.conf,
        iouThres: opts.iou,
        maxDet: opts.maxDet,
      });
      const detections = dets.map((d) => {
        const [x1 = 0, y1 = 0, x2 = 0, y2 = 0] = unletterboxBoxes(d.box, o, image.width, image.height);
        return { ...d, box: [x1, y1, x2, y2] as [number, number, number, number] };
      });
      out.push({ file, image, detections });
    });
  }
  return out;
}

/** Detections of one image file (see predictImages). */
export async function predictImage(model: Detector | DetectionRunner, file: string, opts: PredictOptions): Promise<ImagePrediction> {
  return (await predictImages(model, [file], opts))[0]!;
}
