import type { Command } from '../command.js';

/** `T=W,…` → weights per pretext task (names checked by pretrain against its tasks). */
function parseWeights(spec: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v, ...rest] = part.split('=');
    const w = Number(v);
    if (!k || v === undefined || v.trim() === '' || rest.length || !Number.isFinite(w) || w < 0)
      throw new Error(`--task-weights: '${part}' is not task=weight with a weight ≥ 0`);
    out[k] = w;
  }
  return out;
}

export const pretrainCommand: Command = {
  name: 'pretrain',
  summary: 'self-supervised pretraining of a model’s encoder on unlabelled images with pretext tasks (rotation, jigsaw, contrastive, …)',
  usage: 'yolor pretrain --tasks rotation,jigsaw,… (--source DIR|IDX|fashion-mnist | --data D) [--model M] [--imgsz S] [--epochs N] [options]',
  description:
    'Trains the shared backbone and neck of a zoo model with one head per pretext task (`yolor info --list-pretext`)\n' +
    'on images without labels: the labels of a --data dataset are never read. AdamW with warm-up and cosine decay,\n' +
    'gradient clipping, EMA weights. Writes <project>/<name>/: args.yaml, results.csv (one loss column per task,\n' +
    'accuracy for the classification pretexts, probe/top1 with --probe-data) and weights/last (atomic, every epoch\n' +
    'and on Ctrl-C). `yolor train --weights RUN/weights/last` fine-tunes from it; `yolor probe --weights …` evaluates it.',
  options: [
    {
      name: 'tasks',
      type: 'string',
      valueName: 'T,…',
      default: 'rotation',
      description: 'pretext tasks, comma-separated (several: multi-task self-supervision)',
    },
    {
      name: 'task-weights',
      type: 'string',
      valueName: 'T=W,…',
      description: 'loss weight per task (default: each task’s own, see info --list-pretext)',
    },
    {
      name: 'source',
      type: 'string',
      valueName: 'DIR|FILE',
      description: 'images: a folder (recursive), an image, a Fashion-MNIST IDX images file, or fashion-mnist',
    },
    {
      name: 'data',
      type: 'string',
      valueName: 'D',
      description: 'or the images of a dataset (built-in name, VOC, COCO, YAML); its labels are never read',
    },
    { name: 'split', type: 'string', valueName: 'S', default: 'train', description: 'split of --data whose images are used' },
    {
      name: 'model',
      type: 'string',
      valueName: 'NAME|FILE',
      default: 'yolor-n',
      description: 'zoo model or model config whose encoder is pretrained',
    },
    { name: 'imgsz', type: 'int', valueName: 'PX', default: 128, description: 'image size (multiple of 32; every image is resized to it)' },
    { name: 'epochs', type: 'int', valueName: 'N', default: 10, description: 'passes over the images' },
    { name: 'batch', type: 'int', valueName: 'N', default: 32, description: 'images per batch (each task makes its own views of them)' },
    {
      name: 'optimizer',
      type: 'enum',
      choices: ['adamw', 'sgd'],
      default: 'adamw',
      description: 'AdamW (lr 0.002, weight decay 0.05) or SGD (lr 0.05, momentum 0.9)',
    },
    { name: 'lr0', type: 'number', valueName: 'X', description: 'initial learning rate' },
    { name: 'limit', type: 'int', valueName: 'N', description: 'use at most the first N images' },
    { name: 'skip-bad', type: 'boolean', default: false, description: 'skip (and name) images that cannot be decoded instead of stopping' },
    {
      name: 'probe-data',
      type: 'string',
      valueName: 'D',
      description: 'linear-probe the EMA encoder on this labelled classification data after every epoch (see yolor probe)',
    },
    {
      name: 'probe-limit',
      type: 'int',
      valueName: 'N',
      default: 10000,
      description: 'with --probe-data: training items of the per-epoch probe (the test split is used whole)',
    },
    { name: 'jigsaw-permutations', type: 'int', valueName: 'N', default: 100, description: 'jigsaw: size of the permutation set (the paper: 1000)' },
    { name: 'temperature', type: 'number', valueName: 'T', default: 0.5, description: 'contrastive: NT-Xent temperature' },
    { name: 'count-margin', type: 'number', valueName: 'M', default: 10, description: 'count: margin of the contrastive term' },
    { name: 'noise-std', type: 'number', valueName: 'S', default: 0.1, description: 'denoise: noise standard deviation (0–1 pixels)' },
    { name: 'inpaint-loss', type: 'enum', choices: ['l2', 'l1'], default: 'l2', description: 'inpaint: reconstruction loss' },
    {
      name: 'colorize',
      type: 'enum',
      choices: ['classify', 'regress'],
      default: 'classify',
      description: 'colorize: 313 ab bins with rebalancing, or ab regression',
    },
    {
      name: 'pack-to',
      type: 'string',
      valueName: 'DIR',
      description:
        'when the run is complete, also write its model as float16 weights to DIR with how it was made (how the shipped weights/ are produced)',
    },
    { name: 'resume', type: 'string', valueName: 'RUN', description: 'resume this run (or "last": the latest under --project)' },
    { name: 'project', type: 'string', valueName: 'DIR', default: 'runs/pretrain', description: 'parent directory of runs' },
    { name: 'name', type: 'string', valueName: 'NAME', default: 'exp', description: 'run directory name (exp, exp2, … if taken)' },
    { name: 'seed', type: 'int', valueName: 'N', default: 0, description: 'random seed (initialisation, image order, every pretext transformation)' },
  ],
  async run(args) {
    const { initBackend } = await import('../../engine/backend.js');
    const { pretrain } = await import('../../train/pretrain.js');
    const backend = await initBackend(args.string('backend') as 'auto');
    process.stderr.write(`backend: ${backend.name} (${backend.reason})\n`);
    const resume = args.string('resume');
    if (!resume && (args.string('source') === undefined) === (args.string('data') === undefined))
      throw new Error('give the images with exactly one of --source and --data');
    const probeData = args.string('probe-data');
    let probe: ((ckpt: string) => Promise<{ top1: number; layer: string }>) | undefined;
    if (probeData) {
      const { probeEpoch } = await import('../../train/pretrain.js');
      probe = (ckpt) => probeEpoch(ckpt, probeData, { limitTrain: args.number('probe-limit')! });
    }
    const r = await pretrain({
      ...(args.string('source') !== undefined ? { source: args.string('source')! } : {}),
      ...(args.string('data') !== undefined ? { data: args.string('data')! } : {}),
      split: args.string('split')!,
      model: args.string('model')!,
      tasks: args
        .string('tasks')!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      taskWeights: parseWeights(args.string('task-weights')),
      imgsz: args.number('imgsz')!,
      epochs: args.number('epochs')!,
      batch: args.number('batch')!,
      optimizer: args.string('optimizer') as 'adamw' | 'sgd',
      ...(args.number('lr0') !== undefined ? { lr0: args.number('lr0')! } : {}),
      ...(args.number('limit') !== undefined ? { limit: args.number('limit')! } : {}),
      skipBad: args.boolean('skip-bad'),
      pretext: {
        jigsawPermutations: args.number('jigsaw-permutations')!,
        temperature: args.number('temperature')!,
        countMargin: args.number('count-margin')!,
        noiseStd: args.number('noise-std')!,
        inpaintLoss: args.string('inpaint-loss') as 'l2' | 'l1',
        colorize: args.string('colorize') as 'classify' | 'regress',
      },
      ...(probeData ? { probeData, probe } : {}),
      project: args.string('project')!,
      name: args.string('name')!,
      seed: args.number('seed')!,
      ...(resume ? { resume: resume === 'last' ? (true as const) : resume } : {}),
    });
    const packTo = args.string('pack-to');
    if (packTo && !r.interrupted) {
      const { packPretrained } = await import('../../models/pretrained.js');
      const last = r.rows[r.rows.length - 1] ?? {};
      const made = {
        command: `yolor ${process.argv.slice(2).join(' ')}`,
        summary: Object.entries(last)
          .filter(([k]) => k.startsWith('train/') || k === 'probe/top1')
          .map(([k, v]) => `${k} ${Number(v).toFixed(3)}`)
          .join(', '),
        run: r.runDir,
        epochs: r.rows.length,
        seconds: Math.round(r.seconds),
        date: new Date().toISOString().slice(0, 10),
        labels: 'none (self-supervised)',
      };
      const p = await packPretrained(`${r.runDir}/weights/last`, packTo, made);
      process.stdout.write(`packed: ${packTo} (${p.tensors} tensors, ${(p.bytes / 1e6).toFixed(1)} MB as float16)\n`);
    }
    process.stdout.write(
      `${r.interrupted ? 'interrupted' : 'done'}: ${r.rows.length} epochs, ${r.images} images in ${r.seconds.toFixed(0)} s\n` +
        `weights: ${r.runDir}/weights/last (fine-tune: yolor train --weights ${r.runDir}/weights/last)\n`,
    );
    return 0;
  },
};
