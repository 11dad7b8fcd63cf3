import type { Command } from '../command.js';

export const valCommand: Command = {
  name: 'val',
  summary: "measure COCO mAP (and every other task's metrics) of trained weights on a dataset split",
  usage: 'yolor val --weights CKPT|model.onnx|WEB_MODEL_DIR [--data D] [--split val|test] [--imgsz S] [--conf 0.001] [--iou 0.6] [--json]',
  description:
    'Evaluates a checkpoint (a weights/best or weights/last directory), an exported ONNX model (run with\n' +
    'onnxruntime-node) or an exported TF.js graph model with the pycocotools-exact evaluator: the 12 COCO\n' +
    'numbers, per-class AP, precision/recall at the best-F1 confidence, and speed. A multi-task checkpoint\n' +
    'also reports its other tasks: classify (label mAP, F1 at 0.5), segment (mIoU, pixel accuracy), embed\n' +
    '(retrieval top-1 and mAP across images) and count (mean absolute error, exact-count accuracy).',
  options: [
    { name: 'weights', type: 'string', valueName: 'CKPT', description: 'checkpoint directory, .onnx file or TF.js export directory' },
    { name: 'data', type: 'string', valueName: 'D', default: 'shapes-small', description: 'dataset' },
    { name: 'split', type: 'string', valueName: 'S', default: 'val', description: 'split to evaluate' },
    {
      name: 'imgsz',
      type: 'int',
      valueName: 'PX',
      description: 'image size (default: the training size recorded in the checkpoint; exports: their size)',
    },
    { name: 'batch', type: 'int', valueName: 'N', default: 8, description: 'images per batch' },
    { name: 'conf', type: 'number', valueName: 'X', default: 0.001, description: 'confidence threshold' },
    { name: 'iou', type: 'number', valueName: 'X', default: 0.6, description: 'NMS IoU threshold' },
    {
      name: 'workers',
      type: 'int',
      valueName: 'N',
      description:
        'checkpoints: N ≥ 2 splits each batch across N model replicas in worker threads (default: the number of cores, capped by the batch); also the threads decoding images in the pre-flight check (0: main thread)',
    },
    {
      name: 'skip-bad',
      type: 'boolean',
      default: false,
      description: 'skip (and count) missing, truncated, corrupt or mis-sized images instead of aborting',
    },
    { name: 'json', type: 'boolean', default: false, description: 'print the result as one JSON object' },
  ],
  async run(args) {
    const { UsageError } = await import('../args.js');
    const weights = args.string('weights');
    if (!weights) throw new UsageError('--weights is required', true);
    const { initBackend } = await import('../../engine/backend.js');
    const { validateWeights } = await import('../../train/validate-weights.js');
    const { formatCocoSummary } = await import('../../eval/coco.js');
    await initBackend(args.string('backend') as 'auto');
    const json = args.boolean('json');
    const imgsz = args.number('imgsz');
    const workers = args.number('workers');
    const v = await validateWeights(weights, {
      data: args.string('data')!,
      split: args.string('split')!,
      batch: args.number('batch')!,
      conf: args.number('conf')!,
      iou: args.number('iou')!,
      skipBad: args.boolean('skip-bad'),
      progress: !json,
      log: (line) => void process.stderr.write(`${line}\n`),
      ...(imgsz !== undefined ? { imgsz } : {}),
      ...(workers !== undefined ? { workers } : {}),
    });
    if (!json) process.stderr.write(`engine: ${v.engine}\n`);
    const tasks = Object.fromEntries(Object.entries(v.tasks).map(([name, e]) => [name, e!.report]));
    const r = v.detection;
    if (json) {
      const detJson = r
        ? {
            mAP50: r.mAP50,
            mAP50_95: r.mAP50_95,
            precision: r.precision,
            recall: r.recall,
            stats: r.stats,
            per_class: r.perClass,
            speed_ms: r.speedMs,
          }
        : {};
      process.stdout.write(`${JSON.stringify({ ...detJson, ...(Object.keys(tasks).length ? { tasks } : {}), engine: v.engine })}\n`);
      return 0;
    }
    for (const e of Object.values(v.tasks)) process.stdout.write(`${e!.text}\n`);
    if (!r) return 0;
    process.stdout.write(`${formatCocoSummary(r.stats)}\n\n`);
    process.stdout.write(
      `precision ${r.precision.toFixed(3)}  recall ${r.recall.toFixed(3)}  mAP50 ${r.mAP50.toFixed(3)}  mAP50-95 ${r.mAP50_95.toFixed(3)}\n`,
    );
    for (const [name, c] of Object.entries(r.perClass)) {
      process.stdout.write(
        `  ${name.padEnd(16)} instances ${String(c.instances).padStart(6)}  AP50 ${c.ap50.toFixed(3)}  AP50-95 ${c.ap50_95.toFixed(3)}\n`,
      );
    }
    process.stdout.write(
      `speed (ms/image): preprocess ${r.speedMs.preprocess.toFixed(1)}, inference ${r.speedMs.inference.toFixed(1)}, postprocess ${r.speedMs.postprocess.toFixed(1)}\n`,
    );
    return 0;
  },
};
