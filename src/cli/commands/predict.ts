import type { Command } from '../command.js';

export const predictCommand: Command = {
  name: 'predict',
  summary: 'detect objects in images with trained weights',
  usage:
    'yolor predict --weights CKPT|model.onnx|WEB_MODEL_DIR (--source FILE|DIR | --data D [--split S]) [--conf 0.25] [--iou 0.45] [--max-det 300] [--save-txt] [--save-json]',
  description:
    'Runs a checkpoint (weights/best or weights/last of a run), an exported ONNX model (onnxruntime-node)\n' +
    'or an exported TF.js graph model on images and writes them with boxes, class names and scores drawn\n' +
    'under <project>/<name>/; --save-txt adds YOLO label files (cls cx cy w h conf, normalised), --save-json\n' +
    'predictions.json, a COCO results list ([{image_id, category_id, bbox, score}], boxes in full precision).\n' +
    'Images: --source (an image or a folder), or --data (a dataset, as elsewhere: its --split, default val).\n' +
    "Ids in predictions.json: with a COCO --data (an instances .json or folder), the JSON's own image id and\n" +
    "each class's original category_id, so 'yolor cocoeval --gt <the JSON> --dt predictions.json' and\n" +
    "pycocotools score it (with --conf 0.001 and val's --iou 0.6 it scores as 'yolor val' does, unless the\n" +
    "reader left images or boxes out or clipped them: 'yolor data stats' lists them); --source DIR\n" +
    "with a COCO --data predicts the folder's images, whose file_name entries are resolved against DIR, and an\n" +
    'image there that is not in the JSON is an error. Otherwise (a plain --source, or a VOC/YOLO/built-in\n' +
    '--data) image_id is the file stem and category_id the 0-based class index. A multi-task checkpoint also\n' +
    'writes tasks.json (the labels present, an embedding per detection, the objects per class) and\n' +
    '<image>_seg.png (the predicted class map over the image).',
  options: [
    { name: 'weights', type: 'string', valueName: 'CKPT', description: 'checkpoint directory, .onnx file or TF.js export directory' },
    { name: 'source', type: 'string', valueName: 'PATH', description: 'image file or directory' },
    {
      name: 'data',
      type: 'string',
      valueName: 'D',
      description:
        'dataset whose images to predict (VOC root, COCO .json, dataset .yaml or built-in name); a COCO one gives predictions.json its ids',
    },
    {
      name: 'split',
      type: 'string',
      valueName: 'S',
      description: 'with --data: the split to predict (default val); with --source: the split whose image ids to use',
    },
    {
      name: 'imgsz',
      type: 'int',
      valueName: 'PX',
      description: 'inference size (default: the training size recorded in the checkpoint; exports: their size)',
    },
    { name: 'conf', type: 'number', valueName: 'P', default: 0.25, description: 'confidence threshold' },
    { name: 'iou', type: 'number', valueName: 'IOU', default: 0.45, description: 'NMS IoU threshold' },
    { name: 'max-det', type: 'int', valueName: 'N', default: 300, description: 'maximum detections per image' },
    { name: 'save-txt', type: 'boolean', default: false, description: 'save YOLO-format label files' },
    { name: 'save-json', type: 'boolean', default: false, description: 'save detections as a COCO results JSON (predictions.json; ids: see above)' },
    {
      name: 'workers',
      type: 'int',
      valueName: 'N',
      description: 'checkpoints: N ≥ 2 model replicas in worker threads, N images at a time (default: the number of cores)',
    },
    { name: 'project', type: 'string', valueName: 'DIR', default: 'runs/predict', description: 'parent directory of outputs' },
    { name: 'name', type: 'string', valueName: 'NAME', default: 'exp', description: 'output directory name (exp, exp2, … if taken)' },
  ],
  async run(args) {
    const { UsageError } = await import('../args.js');
    const weights = args.string('weights');
    const source = args.string('source');
    const dataSpec = args.string('data');
    if (!weights) throw new UsageError('--weights is required', true);
    if (!source && !dataSpec) throw new UsageError('--source FILE|DIR or --data D is required (the images to predict)', true);
    if (args.string('split') !== undefined && !dataSpec) throw new UsageError('--split needs --data', true);
    const { existsSync, mkdirSync } = await import('node:fs');
    const { resolve } = await import('node:path');
    const { initBackend } = await import('../../engine/backend.js');
    const { predictWeights } = await import('../../train/predict-weights.js');
    await initBackend(args.string('backend') as 'auto');
    let out = resolve(args.string('project')!, args.string('name')!);
    for (let k = 2; existsSync(out); k++) out = resolve(args.string('project')!, `${args.string('name')}${k}`);
    mkdirSync(out, { recursive: true });
    const imgsz = args.number('imgsz');
    const workers = args.number('workers');
    const split = args.string('split');
    const r = await predictWeights(weights, {
      ...(source ? { source } : {}),
      ...(dataSpec ? { data: dataSpec } : {}),
      ...(split !== undefined ? { split } : {}),
      out,
      conf: args.number('conf')!,
      iou: args.number('iou')!,
      maxDet: args.number('max-det')!,
      saveTxt: args.boolean('save-txt'),
      saveJson: args.boolean('save-json'),
      ...(imgsz !== undefined ? { imgsz } : {}),
      ...(workers !== undefined ? { workers } : {}),
      log: (line) => void process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`results saved to ${r.out} (engine: ${r.engine})\n`);
    return 0;
  },
};
