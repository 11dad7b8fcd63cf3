/**
 * One detection pass: pixels → letterbox → graph (decode included) → NMS
 * (the library's `postprocess`, imported as is) → boxes in original-image
 * pixels, plus a multi-task model's labels and class map (tasks.ts), with
 * the time each stage took.
 */
import { postprocess } from '../../src/tasks/detect/nms.js';
import type { DemoConfig } from './config.js';
import { type RgbImage, toModelInput } from './preprocess.js';
import type { DetectorRuntime } from './runtime.js';
import { readTasks, type TaskResult } from './tasks.js';

export interface DemoDetection {
  /** [x1, y1, x2, y2] in pixels of the original image. */
  box: [number, number, number, number];
  score: number;
  cls: number;
  name: string;
}

export interface StageTimes {
  preprocess: number;
  inference: number;
  postprocess: number;
  total: number;
}

export interface DetectOptions {
  conf: number;
  iou: number;
  maxDet: number;
}

export interface DetectResult extends TaskResult {
  detections: DemoDetection[];
  ms: StageTimes;
}

export async function detect(runtime: DetectorRuntime, config: DemoConfig, img: RgbImage, opts: DetectOptions): Promise<DetectResult> {
  const t0 = performance.now();
  const { input, params } = toModelInput(img, config.imgsz, config.layout);
  const t1 = performance.now();
  const out = await runtime.run(input);
  const t2 = performance.now();
  const dets = postprocess(out.detections, config.nc, { confThres: opts.conf, iouThres: opts.iou, maxDet: opts.maxDet });
  // Same mapping as src/train/predict.ts: (v − pad) / scale, clipped to the image.
  const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  const { padX, padY, scale } = params;
  const detections = dets.map(
    (d): DemoDetection => ({
      box: [
        clip((d.box[0] - padX) / scale, img.width),
        clip((d.box[1] - padY) / scale, img.height),
        clip((d.box[2] - padX) / scale, img.width),
        clip((d.box[3] - padY) / scale, img.height),
      ],
      score: d.score,
      cls: d.cls,
      name: config.names[d.cls] ?? `class${d.cls}`,
    }),
  );
  const tasks = readTasks(out, config, params, img.width, img.height);
  const t3 = performance.now();
  return { detections, ...tasks, ms: { preprocess: t1 - t0, inference: t2 - t1, postprocess: t3 - t2, total: t3 - t0 } };
}
