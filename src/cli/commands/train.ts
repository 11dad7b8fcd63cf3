import { TRAIN_DEFAULTS } from '../../train/defaults.js';
import type { Command } from '../command.js';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a YOLOR detector (default: yolor-n on the built-in shapes-small dataset, 15 epochs at 128 px)',
  usage: 'yolor train [--data D] [--model M] [--epochs N] [--batch B] [--imgsz S] [options]',
  description:
    'Trains a YOLOR model (explicit + implicit knowledge): mosaic/affine/HSV/flip augmentation, SGD\n' +
    '(Nesterov) or AdamW with three parameter groups, warm-up, cosine decay, gradient accumulation to a\n' +
    'nominal batch of 64, EMA weights, per-epoch validation, early stopping on 0.1·mAP50 + 0.9·mAP50-95.\n' +
    'Writes <project>/<name>/: args.yaml, results.csv, results.png, PR_curve.png, confusion_matrix.png,\n' +
    'val_batch0.png and weights/last, weights/best (atomic). Ctrl-C saves weights/last; --resume RUN\n' +
    'continues a stopped run exactly where it stopped.',
  options: [
    {
      name: 'data',
      type: 'string',
      valueName: 'D',
      default: 'shapes-small',
      description: 'dataset: built-in name (shapes-small, shapes, fashion), VOC root, COCO .json or dataset .yaml',
    },
    { name: 'model', type: 'string', valueName: 'NAME|FILE', default: 'yolor-n', description: 'zoo model name or model config file' },
    { name: 'epochs', type: 'int', valueName: 'N', default: 15, description: 'number of training epochs' },
    {
      name: 'batch',
      type: 'int',
      valueName: 'N',
      default: 8,
      description: 'images per batch (the wasm heap limits batch × image size: use 4–8 at 320–416)',
    },
    {
      name: 'imgsz',
      type: 'int',
      valueName: 'PX',
      default: 128,
      description: 'training image size (multiple of 32; the quick default suits shapes-small)',
    },
    {
      name: 'weights',
      type: 'string',
      valueName: 'DIR|NAME',
      description:
        'initial weights: any checkpoint directory (a pretrain run’s weights/last, a detector of another class count …) or a shipped one (yolor-n-ssl); loaded by name and shape, the rest initialised fresh and listed',
    },
    {
      name: 'freeze',
      type: 'int',
      valueName: 'N',
      default: 0,
      description: 'freeze the first N encoder stages (1–5: backbone stages, stage 1 with the stem; 6: the neck too)',
    },
    {
      name: 'resume',
      type: 'string',
      valueName: 'RUN',
      description: 'resume this run directory or its weights/last checkpoint (or "last": the latest run in --project)',
    },
    { name: 'project', type: 'string', valueName: 'DIR', default: 'runs/train', description: 'parent directory of runs' },
    { name: 'name', type: 'string', valueName: 'NAME', default: 'exp', description: 'run directory name (exp, exp2, … if taken)' },
    { name: 'seed', type: 'int', valueName: 'N', default: 0, description: 'random seed (initialisation, data order, augmentation)' },
    {
      name: 'workers',
      type: 'int',
      valueName: 'N',
      description:
        'compute threads (default: the number of cores, capped by the batch): N ≥ 2 trains N model replicas in worker threads (data parallel, same run as one); 1: one model, data loading in a worker thread; 0: everything on the main thread',
    },
    {
      name: 'sync-bn',
      type: 'boolean',
      default: TRAIN_DEFAULTS.syncBn,
      description:
        "with --workers ≥ 2: batch-norm statistics over the whole batch (the single-worker run, up to float rounding) instead of each replica's shard",
    },
    {
      name: 'optimizer',
      type: 'enum',
      choices: ['auto', 'sgd', 'adamw'],
      default: TRAIN_DEFAULTS.optimizer,
      description:
        'optimizer; auto: AdamW (lr 0.002·5/(4+nc), β₁ 0.9) for runs of ≤ 10 000 optimiser steps, else SGD (lr 0.01, Nesterov momentum 0.937)',
    },
    {
      name: 'lr0',
      type: 'number',
      valueName: 'LR',
      description: 'initial learning rate (default: SGD 0.01; AdamW 0.001, or 0.002·5/(4+nc) chosen by auto)',
    },
    {
      name: 'patience',
      type: 'int',
      valueName: 'N',
      default: TRAIN_DEFAULTS.patience,
      description: 'stop after N epochs without fitness improvement',
    },
    { name: 'cache', type: 'boolean', default: false, description: 'cache decoded images in memory' },
    { name: 'val-split', type: 'string', valueName: 'S', default: 'val', description: 'split to validate on (e.g. test for BCCD)' },
    {
      name: 'skip-bad',
      type: 'boolean',
      default: TRAIN_DEFAULTS.skipBad,
      description:
        'skip (and count) missing, truncated, corrupt or mis-sized images instead of aborting (every image is decoded before training; verdicts are cached)',
    },
    {
      name: 'tasks',
      type: 'string',
      valueName: 'LIST',
      description:
        "task heads to train on the shared representation, comma-separated (`yolor info --list-tasks` lists them; default: the model config's, detect)",
    },
    { name: 'task-weights', type: 'string', valueName: 'T=W,…', description: 'fixed loss weight per task (defaults: `yolor info --list-tasks`)' },
    {
      name: 'uncertainty',
      type: 'boolean',
      default: TRAIN_DEFAULTS.uncertainty,
      description: 'learn the task weights by homoscedastic uncertainty (½·exp(−s)·L + ½·s per task) instead of fixed weights',
    },
    {
      name: 'task-implicit',
      type: 'enum',
      choices: ['none', 'add', 'mul', 'concat'],
      description: "task-specific implicit codes at the input of each non-detection head (default: the model config's)",
    },
    {
      name: 'dice',
      type: 'number',
      valueName: 'W',
      default: TRAIN_DEFAULTS.dice,
      description: 'weight of a Dice term added to the segmentation cross-entropy',
    },
    { name: 'limit-train', type: 'int', valueName: 'N', description: 'use only the first N training images (quick runs)' },
    { name: 'limit-val', type: 'int', valueName: 'N', description: 'validate on the first N images of the split only' },
    {
      name: 'nbs',
      type: 'int',
      valueName: 'N',
      default: TRAIN_DEFAULTS.nbs,
      description: 'nominal batch: gradients accumulate over round(nbs / batch) batches (YOLOv5: 64; 8 gives short runs enough optimiser steps)',
    },
  ],
  async run(args) {
    const { initBackend } = await import('../../engine/backend.js');
    const { train } = await import('../../train/trainer.js');
    const { defaultReplicas } = await import('../../train/parallel/replica-pool.js');
    const backend = await initBackend(args.string('backend') as 'auto');
    process.stderr.write(`backend: ${backend.name} (${backend.reason})\n`);
    const resume = args.string('resume');
    const { parseTaskList, parseTaskWeights } = await import('../../tasks/multitask.js');
    const tasks = args.string('tasks') ? parseTaskList(args.string('tasks')!) : undefined;
    const taskImplicit = args.string('task-implicit');
    const opts = {
      data: args.string('data')!,
      model: args.string('model')!,
      epochs: args.number('epochs')!,
      batch: args.number('batch')!,
      project: args.string('project')!,
      name: args.string('name')!,
      seed: args.number('seed')!,
      workers: args.number('workers') ?? defaultReplicas(args.number('batch')!),
      syncBn: args.boolean('sync-bn'),
      optimizer: args.string('optimizer') as 'auto' | 'sgd' | 'adamw',
      patience: args.number('patience')!,
      cache: args.boolean('cache'),
      valSplit: args.string('val-split')!,
      nbs: args.number('nbs')!,
      skipBad: args.boolean('skip-bad'),
      ...(args.number('imgsz') !== undefined ? { imgsz: args.number('imgsz')! } : {}),
      ...(args.number('lr0') !== undefined ? { lr0: args.number('lr0')! } : {}),
      ...(args.string('weights') ? { weights: args.string('weights')! } : {}),
      freeze: args.number('freeze')!,
      ...(resume ? { resume: resume === 'last' ? (true as const) : resume } : {}),
      ...(tasks ? { tasks } : {}),
      ...(args.number('limit-train') !== undefined ? { limitTrain: args.number('limit-train')! } : {}),
      ...(args.number('limit-val') !== undefined ? { limitVal: args.number('limit-val')! } : {}),
      taskWeights: parseTaskWeights(args.string('task-weights')),
      uncertainty: args.boolean('uncertainty'),
      dice: args.number('dice')!,
      ...(taskImplicit ? { modelOverrides: { task_implicit: taskImplicit } } : {}),
    };
    const { trainSummary } = await import('../../train/run-process.js');
    process.stdout.write(trainSummary(await train(opts)));
    return 0;
  },
};
