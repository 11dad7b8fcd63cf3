import type { Command } from '../command.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'export trained weights to ONNX or a TensorFlow.js graph model (folded deploy model)',
  usage:
    'yolor export --weights CKPT [--format onnx|tfjs] [--imgsz S] [--batch B|--dynamic] [--no-fuse] [--no-tasks] [--nms] [--tol 1e-4] [--no-check] [--output PATH]',
  description:
    'Exports a checkpoint for deployment. By default the deploy model is exported: batch norm and the\n' +
    'implicit-knowledge tensors are folded into the convolutions (outputs unchanged). The graph takes\n' +
    'letterboxed RGB images scaled to [0, 1] (ONNX: NCHW [B,3,S,S] unless --layout nhwc; TF.js: NHWC) and\n' +
    'outputs decoded rows [B, N, 5+nc] = cx, cy, w, h (input pixels), objectness, class scores; --nms adds\n' +
    'ONNX NonMaxSuppression and an `nms` output [K, 7] = batch, x1, y1, x2, y2, score, class. Class names,\n' +
    "image size, strides and the letterbox convention are stored in the model's metadata. After writing,\n" +
    'the export is run once on a test image and compared with the tfjs model: boxes relative to the largest\n' +
    'box value, scores absolute; beyond --tol the command fails (exit 1) naming the output that differed\n' +
    '(the file stays written, for inspection; --no-check skips the check).\n' +
    'A multi-task checkpoint also outputs `labels` [B, L] (label probabilities: classes, then attributes) and\n' +
    '`segment` [B, S, S, nc+1] (per-pixel class logits, background first); --no-tasks leaves them out.\n' +
    "An op with no exact equivalent in the format is refused with the layer's name.",
  options: [
    { name: 'weights', type: 'string', valueName: 'CKPT', description: 'checkpoint directory (e.g. runs/train/exp/weights/best)' },
    { name: 'format', type: 'enum', choices: ['onnx', 'tfjs'], default: 'onnx', description: 'output format' },
    {
      name: 'imgsz',
      type: 'int',
      valueName: 'PX',
      description: "input image size (default: the training size recorded in the checkpoint, else the model's)",
    },
    { name: 'batch', type: 'int', valueName: 'N', default: 1, description: 'static batch size' },
    { name: 'dynamic', type: 'boolean', default: false, description: 'dynamic batch axis' },
    {
      name: 'fuse',
      type: 'boolean',
      default: true,
      description: 'fold batch norm and implicit knowledge into convolutions (--no-fuse keeps them as ops)',
    },
    { name: 'nms', type: 'boolean', default: false, description: 'ONNX only: non-maximum suppression in the graph' },
    { name: 'conf', type: 'number', valueName: 'P', default: 0.25, description: 'with --nms: confidence threshold' },
    { name: 'iou', type: 'number', valueName: 'IOU', default: 0.45, description: 'with --nms: IoU threshold' },
    { name: 'max-det', type: 'int', valueName: 'N', default: 300, description: 'with --nms: maximum detections per image' },
    { name: 'layout', type: 'enum', choices: ['nchw', 'nhwc'], default: 'nchw', description: 'ONNX only: input layout' },
    { name: 'opset', type: 'int', valueName: 'N', default: 17, description: 'ONNX only: opset version (≥ 13)' },
    {
      name: 'tasks',
      type: 'boolean',
      default: true,
      description: 'multi-task checkpoints: export the classify and segment heads too (--no-tasks: detections only)',
    },
    { name: 'check', type: 'boolean', default: true, description: 'run the export once and compare it with the tfjs model (--no-check skips)' },
    {
      name: 'tol',
      type: 'number',
      valueName: 'X',
      default: 1e-4,
      description: "the check's tolerance: largest box difference (relative) and score difference (absolute) accepted",
    },
    {
      name: 'output',
      type: 'string',
      valueName: 'PATH',
      description: 'output file (onnx) or directory (tfjs) (default: next to the weights: <CKPT>.onnx or <CKPT>_web_model/)',
    },
  ],
  async run(args) {
    const { UsageError } = await import('../args.js');
    const weights = args.string('weights');
    if (!weights) throw new UsageError('--weights is required', true);
    const format = args.string('format') as 'onnx' | 'tfjs';
    if (args.boolean('dynamic') && args.number('batch') !== 1) throw new UsageError('--batch and --dynamic exclude each other', true);
    if (args.boolean('nms') && format !== 'onnx') throw new UsageError('--nms is only available for --format onnx', true);
    const { resolve } = await import('node:path');
    const { initBackend } = await import('../../engine/backend.js');
    const { exportCheckpoint, ExportCheckError } = await import('../../export/export-model.js');
    await initBackend(args.string('backend') as 'auto');
    const base = resolve(weights).replace(/[\\/]+$/, '');
    const output = args.string('output') ?? (format === 'onnx' ? `${base}.onnx` : `${base}_web_model`);
    const imgsz = args.number('imgsz');
    const tol = args.number('tol')!;
    if (!(tol >= 0) || !Number.isFinite(tol)) throw new UsageError(`--tol must be a finite number ≥ 0; got ${tol}`, true);
    const { describeCheck } = await import('../../export/check-export.js');
    let r: Awaited<ReturnType<typeof exportCheckpoint>>;
    try {
      r = await exportCheckpoint(weights, output, {
        format,
        batch: args.number('batch')!,
        dynamicBatch: args.boolean('dynamic'),
        fuse: args.boolean('fuse'),
        nms: args.boolean('nms') ? { conf: args.number('conf')!, iou: args.number('iou')!, maxDet: args.number('max-det')! } : null,
        layout: args.string('layout') === 'nhwc' ? 'NHWC' : 'NCHW',
        opset: args.number('opset')!,
        check: args.boolean('check'),
        tolerance: tol,
        tasks: args.boolean('tasks'),
        ...(imgsz !== undefined ? { imgsz } : {}),
      });
    } catch (err) {
      if (!(err instanceof ExportCheckError)) throw err;
      process.stderr.write(`yolor export: ${err.message}\n`);
      return 1;
    }
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    const lines = [
      `${format === 'onnx' ? 'ONNX' : 'TF.js graph model'}: ${r.path} (${(r.bytes / 1e6).toFixed(2)} MB, ${r.nodes} nodes, input ${r.inputShape}, ${r.fused ? 'folded deploy model' : 'not folded'})`,
    ];
    if (r.fuseReport)
      lines.push(
        `folded: ${r.fuseReport.folded.length} terms; kept as constant ops: ${r.fuseReport.kept.length ? r.fuseReport.kept.join('; ') : 'none'}`,
      );
    lines.push(r.check ? describeCheck(r.check) : 'check: skipped (--no-check)');
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
