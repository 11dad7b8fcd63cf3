import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';

export const ablateCommand: Command = {
  name: 'ablate',
  summary: "reproduce YOLOR's ablations: train every variant of a suite over several seeds, write a table and a chart",
  usage: 'yolor ablate --suite feature-alignment|prediction-refinement|modelling|multitask|pretext [--data D] [--seeds 3] [--epochs N] [options]',
  description:
    "Trains each variant of the suite (one training process per variant and seed, with `yolor train`'s defaults\n" +
    'and this --backend; `--jobs` of them at a time) and\n' +
    'writes <project>/<suite>/results.md (mean ± std over seeds, parameters, deploy parameters, GFLOPs, time),\n' +
    "results.json and chart.png, with the variants' model configs, runs and logs beside them. Suites:\n" +
    '  feature-alignment      no implicit vs ImplicitAdd / ImplicitMul / ImplicitConcat on the neck outputs\n' +
    '  prediction-refinement  none vs add vs multiply vs both in the detection heads\n' +
    '  modelling              implicit knowledge as a vector vs a neural network vs a matrix factorisation\n' +
    '  multitask              detection vs JDE vs iJDE, and the four-task unified network vs four single-task\n' +
    '                         networks of the same total size\n' +
    '  pretext                scratch vs each pretext task vs their combination vs contrastive: each run pretrains\n' +
    '                         the encoder (yolor pretrain on --pretrain-data), probes it on the object crops of\n' +
    '                         --data (probe top-1, best layer) and fine-tunes the detector from it',
  options: [
    {
      name: 'suite',
      type: 'enum',
      choices: ['feature-alignment', 'prediction-refinement', 'modelling', 'multitask', 'pretext'],
      description: 'the ablation to run',
    },
    {
      name: 'data',
      type: 'string',
      valueName: 'D',
      default: 'shapes-small',
      description: 'dataset (multitask needs masks and identities: shapes-small, shapes, fashion)',
    },
    { name: 'model', type: 'string', valueName: 'NAME|FILE', default: 'yolor-n', description: 'base model whose config the variants modify' },
    { name: 'seeds', type: 'int', valueName: 'N', default: 3, description: 'seeds per variant (0 … N−1)' },
    { name: 'epochs', type: 'int', valueName: 'N', default: 10, description: 'training epochs per run' },
    { name: 'imgsz', type: 'int', valueName: 'PX', default: 128, description: 'training image size' },
    { name: 'batch', type: 'int', valueName: 'N', default: 8, description: 'images per batch' },
    {
      name: 'jobs',
      type: 'int',
      valueName: 'N',
      default: 1,
      description: 'training runs at once (separate processes; use the cores: one job per 1–2 cores)',
    },
    { name: 'workers', type: 'int', valueName: 'N', description: '--workers of each run (default: the cores divided among the jobs)' },
    { name: 'val-split', type: 'string', valueName: 'S', default: 'val', description: 'split to validate on' },
    { name: 'limit-train', type: 'int', valueName: 'N', description: 'train on the first N images only (quick checks)' },
    { name: 'limit-val', type: 'int', valueName: 'N', description: 'validate on the first N images only' },
    {
      name: 'pretrain-data',
      type: 'string',
      valueName: 'D',
      default: 'shapes-pretrain',
      description: 'pretext suite: the unlabelled images each encoder is pretrained on (a dataset whose labels are never read)',
    },
    { name: 'pretrain-epochs', type: 'int', valueName: 'N', default: 2, description: 'pretext suite: pretraining epochs of each run' },
    { name: 'pretrain-limit', type: 'int', valueName: 'N', description: 'pretext suite: pretrain on at most the first N images' },
    { name: 'project', type: 'string', valueName: 'DIR', default: 'runs/ablate', description: 'parent directory of the suite folders' },
  ],
  async run(args) {
    const { UsageError } = await import('../args.js');
    const suite = args.string('suite');
    if (!suite) throw new UsageError('--suite is required', true);
    const { initBackend } = await import('../../engine/backend.js');
    const backend = args.string('backend') as 'auto';
    await initBackend(backend);
    const { runAblation } = await import('../../ablate/run-suite.js');
    const r = await runAblation({
      suite,
      data: args.string('data')!,
      model: args.string('model')!,
      seeds: args.number('seeds')!,
      epochs: args.number('epochs')!,
      imgsz: args.number('imgsz')!,
      batch: args.number('batch')!,
      jobs: args.number('jobs')!,
      project: args.string('project')!,
      valSplit: args.string('val-split')!,
      ...(args.number('workers') !== undefined ? { workers: args.number('workers')! } : {}),
      ...(args.number('limit-train') !== undefined ? { limitTrain: args.number('limit-train')! } : {}),
      ...(args.number('limit-val') !== undefined ? { limitVal: args.number('limit-val')! } : {}),
      command: `yolor ${process.argv.slice(2).join(' ')}`,
      backend,
      pretrainData: args.string('pretrain-data')!,
      pretrainEpochs: args.number('pretrain-epochs')!,
      ...(args.number('pretrain-limit') !== undefined ? { pretrainLimit: args.number('pretrain-limit')! } : {}),
    });
    process.stdout.write(`${readFileSync(r.files.markdown, 'utf8')}\n`);
    process.stdout.write(`results: ${r.files.markdown}, ${r.files.json}, ${r.files.png}\n`);
    return 0;
  },
};
