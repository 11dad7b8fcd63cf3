/**
 * Model inspection: a traced forward pass at a given image size gives every
 * layer's output shape, parameters and multiply-adds (every task head); GFLOPs = 2 × MACs / 1e9
 * for one image.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type LayerRecord, withTrace } from '../nn/module.js';
import type { Detector } from './detector.js';

export interface ModelSummary {
  name: string;
  imgsz: number;
  params: number;
  gflops: number;
  layers: Array<LayerRecord & { flops: number }>;
}

export function summarizeModel(model: Detector, imgsz: number): ModelSummary {
  model.checkInputSize(imgsz, imgsz);
  const wasTraining = model.training;
  model.eval(); // no running-statistics updates while inspecting
  const { layers } = withTrace(() =>
    tf.tidy(() => {
      model.forwardTasks(tf.zeros([1, imgsz, imgsz, 3]) as tf.Tensor4D);
    }),
  );
  model.train(wasTraining);
  const macs = layers.reduce((s, l) => s + l.macs, 0);
  return {
    name: model.config.name,
    imgsz,
    params: model.numParams(),
    gflops: (2 * macs) / 1e9,
    layers: layers.map((l) => ({ ...l, flops: 2 * l.macs })),
  };
}
