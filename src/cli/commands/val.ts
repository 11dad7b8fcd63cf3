import type { Command } from '../command.js';

export const valCommand: Command = {
  name: 'val',
  summary: 'measure COCO mAP (and every other task\'s metrics) of trained weights on a dataset split',
  usage: 'yolor val --weights CKPT|model.onnx|WEB_MODEL_DIR [--data D] [--split val|test] [--imgsz S] [--conf 0.001] [--iou 0.6] [--json]',
  description:
    'Evaluates a checkpoint (a weights/best or weights/last directory), an exported ONNX model (run with\n' +
    'onnxruntime-node) or an exported TF.js graph model with the pycocotools-exact evaluator: the 12 COCO\n' +
    'numbers, per-class AP, precision/recall at the best-F1 confidence, and speed. A multi-task checkpoint\n' +
    'also reports its other tasks: classify (label mAP, F1 at 0.5), segment (mIoU, pixel accuracy) and embed\n' +
    '(retrieval top-1 and mAP across images).',
  options: [
    { name: 'weights', type: 'string', valueName: 'CKPT', description: 'checkpoint directory, .onnx file or TF.js export directory' },
    { name: 'data', type: 'string', valueName: 'D', default: 'shapes-small', description: 'dataset' },
    { name: 'split', type: 'string', valueName: 'S', default: 'val', description: 'split to evaluate' },
    { name: 'imgsz', type: 'int', valueName: 'PX', description: 'image size (default: the training size recorded in the checkpoint; exports: their size)' },
    { name: 'batch', type: 'int', valueName: 'N', default: 8, description: 'images per batch' },
    { name: 'conf', type: 'number', valueName: 'X', default: 0.001, description: 'confidence threshold' },
    { name: 'iou', type: 'number', valueName: 'X', default: 0.6, description: 'NMS IoU threshold' },
    { name: 'workers', type: 'int', valueName: 'N', description: 'checkpoints: N ≥ 2 splits each batch across N model replicas in worker threads (default: the number of cores, capped by the batch); also the threads decoding images in the pre-flight check (0: main thread)' },
    { name: 'skip-bad', type: 'boolean', default: false, description: 'skip (and count) missing, truncated, corrupt or mis-sized images instead of aborting' },
    { name: 'json', type: 'boolean', default: false, description: 'print the result as one JSON object' },
  ],
  async run(args) {
    const { UsageError } = await import('../args.js');
    const weights = args.string('weights');
    if (!weights) throw new UsageError('--weights is required', true);
    const { initBackend } = await import('../../engine/backend.js');
    const { loadRunner } = await import('../../export/runner-loaders.js');
    const { loadDetectionDatasetAsync, datasetSplit } = await import('../../data/resolve.js');
    const { validateRunner } = await import('../../train/validate.js');
    const { formatCocoSummary } = await import('../../eval/coco.js');
    await initBackend(args.string('backend') as 'auto');
    const runner = await loadRunner(weights);
    const ds = await loadDetectionDatasetAsync(args.string('data')!);
    if (ds.names.length !== runner.nc) {
      await runner.dispose();
      throw new Error(`${weights}: the model has ${runner.nc} classes but ${ds.source} has ${ds.names.length}`);
    }
    const { verifyImages, applyImageReport, describeImageReport } = await import('../../data/verify.js');
    const { defaultReplicas, ReplicaPool } = await import('../../train/parallel/replica-pool.js');
    const split = args.string('split')!;
    const say = (line: string): void => void process.stderr.write(`${line}\n`);
    const check = await verifyImages(datasetSplit(ds, split), {
      workers: args.number('workers') ?? defaultReplicas(args.number('batch')!), progress: !args.boolean('json'), label: `check ${split}`, log: say,
    });
    if (!args.boolean('json')) say(`image check, ${split}: ${describeImageReport(check)}`);
    const records = applyImageReport(split, check, args.boolean('skip-bad'), say);
    const replicas = Math.min(args.number('workers') ?? defaultReplicas(args.number('batch')!), args.number('batch')!);
    let pool: Awaited<ReturnType<typeof ReplicaPool.start>> | null = null;
    let use = runner;
    if (runner.detector && replicas > 1) {
      pool = await ReplicaPool.start(runner.detector, { replicas });
      use = { ...pool.runner(runner.detector, runner.names), imgsz: runner.imgsz };
    }
    let r = null;
    let tasks: import('../../train/validate-tasks.js').TaskValidationResult = {};
    const { runnerImageSize } = await import('../../infer/runner.js');
    const imgsz = runnerImageSize(runner, args.number('imgsz'), (line) => process.stderr.write(`${line}\n`));
    try {
      if (!runner.detector || runner.detector.head) {
        r = await validateRunner(use, records, ds.names, {
          imgsz, batchSize: args.number('batch')!, conf: args.number('conf')!, iou: args.number('iou')!, progress: !args.boolean('json'),
        });
      }
      if (runner.detector) {
        const { validateTasks } = await import('../../train/validate-tasks.js');
        tasks = await validateTasks(runner.detector, records, { imgsz, batchSize: args.number('batch')!, progress: !args.boolean('json') });
      }
    } finally {
      await pool?.close();
      await runner.dispose();
    }
    if (!args.boolean('json')) process.stderr.write(`engine: ${use.engine}\n`);
    const taskJson = {
      ...(tasks.classify ? { classify: { mAP: tasks.classify.mAP, f1: tasks.classify.f1, precision: tasks.classify.precision, recall: tasks.classify.recall, loss: tasks.classify.loss } } : {}),
      ...(tasks.segment ? { segment: { mIoU: tasks.segment.mIoU, pixel_accuracy: tasks.segment.pixelAccuracy, iou: tasks.segment.iou, loss: tasks.segment.loss } } : {}),
      ...(tasks.embed ? { embed: { top1: tasks.embed.top1, mAP: tasks.embed.mAP, queries: tasks.embed.queries, loss: tasks.embed.loss } } : {}),
    };
    if (args.boolean('json')) {
      const detJson = r ? { mAP50: r.mAP50, mAP50_95: r.mAP50_95, precision: r.precision, recall: r.recall, stats: r.stats, per_class: r.perClass, speed_ms: r.speedMs } : {};
      process.stdout.write(`${JSON.stringify({ ...detJson, ...(Object.keys(taskJson).length ? { tasks: taskJson } : {}), engine: use.engine })}\n`);
      return 0;
    }
    const t = tasks;
    const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '—');
    if (t.classify) process.stdout.write(`classify: mAP ${f(t.classify.mAP)}  F1 ${f(t.classify.f1)}  precision ${f(t.classify.precision)}  recall ${f(t.classify.recall)}\n`);
    if (t.segment) process.stdout.write(`segment: mIoU ${f(t.segment.mIoU)}  pixel accuracy ${f(t.segment.pixelAccuracy)}  IoU per class ${t.segment.iou.map(f).join(' ')} (background first)\n`);
    if (t.embed) process.stdout.write(`embed: retrieval top-1 ${f(t.embed.top1)}  mAP ${f(t.embed.mAP)}  (${t.embed.queries} queries)\n`);
    if (!r) return 0;
    process.stdout.write(`${formatCocoSummary(r.stats)}\n\n`);
    process.stdout.write(`precision ${r.precision.toFixed(3)}  recall ${r.recall.toFixed(3)}  mAP50 ${r.mAP50.toFixed(3)}  mAP50-95 ${r.mAP50_95.toFixed(3)}\n`);
    for (const [name, c] of Object.entries(r.perClass)) {
      process.stdout.write(`  ${name.padEnd(16)} instances ${String(c.instances).padStart(6)}  AP50 ${c.ap50.toFixed(3)}  AP50-95 ${c.ap50_95.toFixed(3)}\n`);
    }
    process.stdout.write(`speed (ms/image): preprocess ${r.speedMs.preprocess.toFixed(1)}, inference ${r.speedMs.inference.toFixed(1)}, postprocess ${r.speedMs.postprocess.toFixed(1)}\n`);
    return 0;
  },
};
