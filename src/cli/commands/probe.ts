import type { Command } from '../command.js';

/** The layers a CSP-Darknet encoder offers (models/probe-layers.ts PROBE_LAYERS; spelled out so --help loads no TensorFlow.js). */
const LAYERS = ['stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'neck'];

export const probeCommand: Command = {
  name: 'probe',
  summary: 'linear evaluation of a (pretext-)pretrained encoder, layer by layer, against random-init baselines',
  usage: 'yolor probe --weights CKPT|random [--model M] [--data fashion-mnist|DIR|D --crops] [--layers L,…] [--imgsz S] [options]',
  description:
    'The linear-evaluation protocol: the frozen encoder (eval mode) turns every image into average-pooled\n' +
    'features at each layer (stage1 … stage5 of the backbone, and the neck: its levels pooled and concatenated);\n' +
    "per layer, a batch norm without affine (the training features' mean and variance) and a linear classifier\n" +
    'trained with SGD (momentum 0.9, weight decay 5e-4, batch 256, lr 0.1 with a per-step cosine decay to 0)\n' +
    'give the test top-1, and a weighted kNN (k 20, cosine similarity, votes exp(sim/0.07), Wu et al. 2018) is\n' +
    "scored at each model's best layer. Baselines in the same table: random (the same architecture, fresh\n" +
    'weights from --seed) and random-rescaled (the random network with each batch-norm layer set to the\n' +
    "data's statistics: training-mode passes over --rescale-images training images, momentum 1), and\n" +
    'optionally a supervised upper bound (--supervised-epochs). Data: Fashion-MNIST (the IDX files), a\n' +
    'class-per-folder directory (DIR/train/<class>/… with DIR/val/<class>/…, or DIR/<class>/… split 80/20:\n' +
    'every fifth file of a class is test), or with --crops the boxes of any detection dataset cut out with\n' +
    'a 10 % margin (train split → train, val split → test). Writes <project>/<name>/probe.md, probe.json,\n' +
    'probe.csv and probe.png, and prints the table.',
  options: [
    {
      name: 'weights',
      type: 'string',
      valueName: 'CKPT',
      description: 'a pretext, detector or multi-task checkpoint directory, or "random" (then only the baselines, for --model)',
    },
    { name: 'model', type: 'string', valueName: 'NAME|FILE', description: 'with --weights random: zoo model name or config file (default: yolor-n)' },
    {
      name: 'data',
      type: 'string',
      valueName: 'D',
      default: 'fashion-mnist',
      description: 'fashion-mnist, a folder with the Fashion-MNIST IDX files, a class-per-folder directory, or (with --crops) any detection dataset',
    },
    { name: 'crops', type: 'boolean', default: false, description: "classify the object crops of a detection dataset's boxes" },
    {
      name: 'fashion-dir',
      type: 'string',
      valueName: 'DIR',
      description: 'where the Fashion-MNIST IDX files are (default: $YOLOR_FASHION_DIR or the system folders)',
    },
    {
      name: 'imgsz',
      type: 'int',
      valueName: 'PX',
      description: "input size (default: the checkpoint's recorded size, else 32 for Fashion-MNIST and 128 otherwise)",
    },
    { name: 'layers', type: 'string', valueName: 'L,…', description: `layers to probe, comma-separated (default: all of ${LAYERS.join(', ')})` },
    {
      name: 'pool',
      type: 'int',
      valueName: 'K',
      default: 1,
      description: 'average pool every feature map to a K×K grid (1: global average pooling)',
    },
    { name: 'probe-epochs', type: 'int', valueName: 'N', default: 30, description: 'epochs of each linear classifier' },
    {
      name: 'probe-lr',
      type: 'number',
      valueName: 'LR',
      default: 0.1,
      description: 'initial learning rate of the linear classifiers (cosine decay to 0)',
    },
    { name: 'knn', type: 'int', valueName: 'K', default: 20, description: 'neighbours of the weighted kNN (0: no kNN)' },
    { name: 'knn-all', type: 'boolean', default: false, description: "kNN at every layer, not only at each model's best linear layer" },
    {
      name: 'knn-bank',
      type: 'int',
      valueName: 'N',
      description: 'cap the kNN bank at N training items (the first N of a seeded shuffle; default: all; its cost is test × bank × features)',
    },
    { name: 'baselines', type: 'boolean', default: true, description: 'add the random and random-rescaled rows next to a checkpoint' },
    {
      name: 'rescale-images',
      type: 'int',
      valueName: 'N',
      default: 1024,
      description: 'training images that set the batch-norm statistics of random-rescaled',
    },
    {
      name: 'supervised-epochs',
      type: 'int',
      valueName: 'N',
      default: 0,
      description: 'also train the architecture end to end with labels for N epochs (AdamW) and probe it: the upper bound (0: off)',
    },
    { name: 'supervised-batch', type: 'int', valueName: 'N', default: 64, description: 'batch of the supervised upper bound' },
    { name: 'limit-train', type: 'int', valueName: 'N', description: 'use N training items (the first N of a seeded shuffle; quick runs)' },
    { name: 'limit-test', type: 'int', valueName: 'N', description: 'use N test items (the first N of a seeded shuffle)' },
    {
      name: 'batch',
      type: 'int',
      valueName: 'N',
      description: 'images per feature-extraction batch (default: 256 at 32 px, fewer for larger images)',
    },
    { name: 'seed', type: 'int', valueName: 'N', default: 0, description: 'seed of the random networks, the item limits and the shuffles' },
    { name: 'project', type: 'string', valueName: 'DIR', default: 'runs/probe', description: 'parent directory of runs' },
    { name: 'name', type: 'string', valueName: 'NAME', default: 'exp', description: 'run directory name (exp, exp2, … if taken)' },
    { name: 'json', type: 'boolean', default: false, description: 'print the result as one JSON object instead of the table' },
  ],
  async run(args) {
    const { UsageError } = await import('../args.js');
    const { resolveWeights } = await import('../../models/pretrained.js');
    let weights = args.string('weights');
    if (!weights) throw new UsageError('--weights is required (a checkpoint directory, or "random" with --model)');
    const model = args.string('model');
    if (weights !== 'random') {
      if (model !== undefined) throw new UsageError('--model is only for --weights random (a checkpoint carries its own config)');
      try {
        weights = resolveWeights(weights); // a checkpoint directory, or the name of shipped weights (yolor-n-ssl)
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    const layersArg = args.string('layers');
    const layers = layersArg?.split(',').map((s) => s.trim());
    if (layers) {
      if (layers.length === 0 || layers.some((l) => l === '')) throw new UsageError(`--layers: empty layer name in '${layersArg}'`);
      const bad = layers.find((l) => !LAYERS.includes(l));
      if (bad) throw new UsageError(`--layers: unknown layer '${bad}' (layers: ${LAYERS.join(', ')})`);
      if (new Set(layers).size !== layers.length) throw new UsageError(`--layers: a layer is named twice in '${layersArg}'`);
    }
    const atLeast = (name: string, min: number): number | undefined => {
      const v = args.number(name);
      if (v !== undefined && v < min) throw new UsageError(`--${name} must be ≥ ${min}, got ${v}`);
      return v;
    };
    const imgsz = atLeast('imgsz', 1);
    const pool = atLeast('pool', 1)!;
    const epochs = atLeast('probe-epochs', 1)!;
    const knn = atLeast('knn', 0)!;
    const knnBank = atLeast('knn-bank', 1);
    const rescaleImages = atLeast('rescale-images', 2)!;
    const supervisedEpochs = atLeast('supervised-epochs', 0)!;
    const supervisedBatch = atLeast('supervised-batch', 2)!;
    const limitTrain = atLeast('limit-train', 1);
    const limitTest = atLeast('limit-test', 1);
    const batch = atLeast('batch', 1);
    const lr = args.number('probe-lr')!;
    if (!(lr > 0)) throw new UsageError(`--probe-lr must be positive, got ${lr}`);
    const fashionDir = args.string('fashion-dir');
    const json = args.boolean('json');

    const { initBackend } = await import('../../engine/backend.js');
    const backend = await initBackend(args.string('backend') as 'auto');
    if (!json) process.stderr.write(`backend: ${backend.name} (${backend.reason})\n`);
    const { probe } = await import('../../train/probe.js');
    const r = await probe({
      weights,
      ...(model !== undefined ? { model } : {}),
      data: args.string('data')!,
      crops: args.boolean('crops'),
      ...(fashionDir !== undefined ? { fashionDir } : {}),
      ...(imgsz !== undefined ? { imgsz } : {}),
      ...(layers ? { layers } : {}),
      pool,
      epochs,
      lr,
      knn,
      knnAll: args.boolean('knn-all'),
      ...(knnBank !== undefined ? { knnBank } : {}),
      baselines: args.boolean('baselines'),
      rescaleImages,
      supervisedEpochs,
      supervisedBatch,
      ...(limitTrain !== undefined ? { limitTrain } : {}),
      ...(limitTest !== undefined ? { limitTest } : {}),
      ...(batch !== undefined ? { batch } : {}),
      seed: args.number('seed')!,
      project: args.string('project')!,
      name: args.string('name')!,
      progress: !json,
    });
    if (json) {
      process.stdout.write(`${JSON.stringify(r.json)}\n`);
      return 0;
    }
    process.stdout.write(`${r.markdown}\n`);
    process.stderr.write(`results: ${r.dir} (probe.md, probe.json, probe.csv, probe.png)\n`);
    return 0;
  },
};
