import type { Command } from '../command.js';

export const predictCommand: Command = {
  name: 'predict',
  summary: 'detect objects in images with trained weights',
  usage: 'yolor predict --weights CKPT|model.onnx|WEB_MODEL_DIR (--source FILE|DIR | --data D [--split S]) [--conf 0.25] [--iou 0.45] [--max-det 300] [--save-txt] [--save-json]',
  description:
    'Runs a checkpoint (weights/best or weights/last of a run), an exported ONNX model (onnxruntime-node)\n' +
    'or an exported TF.js graph model on images and writes them with boxes, class names and scores drawn\n' +
    'under <project>/<name>/; --save-txt adds YOLO label files (cls cx cy w h conf, normalised), --save-json\n' +
    'predictions.json, a COCO results list ([{image_id, category_id, bbox, score}], boxes in full precision).\n' +
    'Images: --source (an image or a folder), or --data (a dataset, as elsewhere: its --split, default val).\n' +
    'Ids in predictions.json: with a COCO --data (an instances .json or folder), the JSON\'s own image id and\n' +
    'each class\'s original category_id, so \'yolor cocoeval --gt <the JSON> --dt predictions.json\' and\n' +
    'pycocotools score it (with --conf 0.001 and val\'s --iou 0.6 it scores as \'yolor val\' does, unless the\n' +
    'reader left images or boxes out or clipped them: \'yolor data stats\' lists them); --source DIR\n' +
    'with a COCO --data predicts the folder\'s images, whose file_name entries are resolved against DIR, and an\n' +
    'image there that is not in the JSON is an error. Otherwise (a plain --source, or a VOC/YOLO/built-in\n' +
    '--data) image_id is the file stem and category_id the 0-based class index. A multi-task checkpoint also\n' +
    'writes tasks.json (the labels present, an embedding per detection) and <image>_seg.png (the predicted\n' +
    'class map over the image).',
  options: [
    { name: 'weights', type: 'string', valueName: 'CKPT', description: 'checkpoint directory, .onnx file or TF.js export directory' },
    { name: 'source', type: 'string', valueName: 'PATH', description: 'image file or directory' },
    { name: 'data', type: 'string', valueName: 'D', description: 'dataset whose images to predict (VOC root, COCO .json, dataset .yaml or built-in name); a COCO one gives predictions.json its ids' },
    { name: 'split', type: 'string', valueName: 'S', description: 'with --data: the split to predict (default val); with --source: the split whose image ids to use' },
    { name: 'imgsz', type: 'int', valueName: 'PX', description: 'inference size (default: the training size recorded in the checkpoint; exports: their size)' },
    { name: 'conf', type: 'number', valueName: 'P', default: 0.25, description: 'confidence threshold' },
    { name: 'iou', type: 'number', valueName: 'IOU', default: 0.45, description: 'NMS IoU threshold' },
    { name: 'max-det', type: 'int', valueName: 'N', default: 300, description: 'maximum detections per image' },
    { name: 'save-txt', type: 'boolean', default: false, description: 'save YOLO-format label files' },
    { name: 'save-json', type: 'boolean', default: false, description: 'save detections as a COCO results JSON (predictions.json; ids: see above)' },
    { name: 'workers', type: 'int', valueName: 'N', description: 'checkpoints: N ≥ 2 model replicas in worker threads, N images at a time (default: the number of cores)' },
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
    const { existsSync, mkdirSync, readFileSync, statSync } = await import('node:fs');
    const { basename, dirname, extname, join, resolve } = await import('node:path');
    const { initBackend } = await import('../../engine/backend.js');
    const { loadRunner } = await import('../../export/runner-loaders.js');
    const { listImages, predictImages } = await import('../../train/predict.js');
    const { datasetInput, fileResultIds, sourceInDataset } = await import('../../train/predict-source.js');
    const { defaultReplicas, ReplicaPool } = await import('../../train/parallel/replica-pool.js');
    const { drawBoxesPng } = await import('../../plot/draw-boxes.js');
    const { writeFileAtomic } = await import('../../io/atomic-write.js');
    await initBackend(args.string('backend') as 'auto');
    const sourceFiles = source ? listImages(source) : [];
    let input: import('../../train/predict-source.js').PredictInput = { files: sourceFiles, ids: fileResultIds, notes: [] };
    let classes: number | null = null;
    if (dataSpec) {
      const { loadDetectionDatasetAsync } = await import('../../data/resolve.js');
      // With --source, a COCO JSON's file_name entries are relative to that folder (or to the image file's).
      const imageDir = source ? (statSync(resolve(source)).isDirectory() ? source : dirname(source)) : undefined;
      const ds = await loadDetectionDatasetAsync(dataSpec, imageDir ? { imageDir } : {});
      input = source ? sourceInDataset(sourceFiles, ds, source, args.string('split')) : datasetInput(ds, args.string('split') ?? 'val');
      classes = ds.names.length;
    }
    const files = input.files;
    const loaded = await loadRunner(weights);
    const names = loaded.names;
    if (classes !== null && classes !== loaded.nc) {
      await loaded.dispose();
      throw new Error(`${weights}: the model has ${loaded.nc} classes but ${dataSpec} has ${classes}`);
    }
    for (const n of input.notes) process.stderr.write(`note: ${n}\n`);
    const replicas = Math.min(args.number('workers') ?? defaultReplicas(Number.MAX_SAFE_INTEGER), files.length);
    let pool: Awaited<ReturnType<typeof ReplicaPool.start>> | null = null;
    let runner = loaded;
    if (loaded.detector && replicas > 1) {
      pool = await ReplicaPool.start(loaded.detector, { replicas });
      runner = { ...pool.runner(loaded.detector, loaded.names), imgsz: loaded.imgsz };
    }
    let out = resolve(args.string('project')!, args.string('name')!);
    for (let k = 2; existsSync(out); k++) out = resolve(args.string('project')!, `${args.string('name')}${k}`);
    mkdirSync(out, { recursive: true });
    const { runnerImageSize } = await import('../../infer/runner.js');
    const opts = { imgsz: runnerImageSize(loaded, args.number('imgsz'), (line) => process.stderr.write(`${line}\n`)), conf: args.number('conf')!, iou: args.number('iou')!, maxDet: args.number('max-det')! };
    const json: import('../../eval/coco.js').CocoDet[] = [];
    const step = pool ? pool.replicas : 1;
    // A multi-task checkpoint: its other heads predict too (labels, a class map, an embedding per detection).
    const model = loaded.detector;
    const multi = !!model && (!!model.classifyHead || !!model.segmentHead || !!model.embedHead);
    const detects = !model || !!model.head;
    const taskJson: Array<Record<string, unknown>> = [];
    const { predictTasks } = await import('../../train/predict-tasks.js');
    const { imageCanvas } = await import('../../plot/draw-boxes.js');
    const { decodeImage } = await import('../../data/image-io.js');
    const attributes = multi
      ? ((JSON.parse(readFileSync(join(weights, 'model.json'), 'utf8')) as { userDefinedMetadata?: { attributes?: string[] } }).userDefinedMetadata?.attributes ?? [])
      : [];
    const labelNames = [...names, ...attributes];
    try {
      for (let s = 0; s < files.length; s += step) {
        const t = performance.now();
        const chunk = files.slice(s, s + step);
        const preds = detects ? await predictImages(runner, chunk, { ...opts, batch: step })
          : await Promise.all(chunk.map(async (file) => ({ file, image: await decodeImage(file), detections: [] })));
        for (const p of preds) {
          if (multi) {
            const tp = predictTasks(model!, p.image, { imgsz: opts.imgsz, labelNames, detections: p.detections });
            const stem = basename(p.file, extname(p.file));
            if (tp.semantic) {
              const present = [...new Set(tp.semantic)].filter((c) => c > 0).sort((a, b) => a - b);
              const masks = present.map((c) => Uint8Array.from(tp.semantic!, (v) => (v === c ? 1 : 0)));
              const png = imageCanvas(p.image, { boxes: [], cls: present.map((c) => c - 1), masks }, 0.55).toBuffer('image/png');
              await writeFileAtomic(join(out, `${stem}_seg.png`), png);
            }
            taskJson.push({
              image: basename(p.file),
              ...(tp.labels ? { labels: tp.labels.map((l) => ({ name: l.name, score: Number(l.score.toFixed(4)) })) } : {}),
              ...(tp.semantic ? { segmentation: `${stem}_seg.png` } : {}),
              ...(tp.embeddings ? { embeddings: tp.embeddings.map((e) => Array.from(e, (v) => Number(v.toFixed(5)))) } : {}),
            });
            if (tp.labels) process.stderr.write(`${basename(p.file)}: labels ${tp.labels.map((l) => `${l.name} ${l.score.toFixed(2)}`).join(', ') || '(none)'}\n`);
          }
          if (!detects) continue;
          const file = p.file;
          const stem = basename(file, extname(file));
          const d = p.detections;
          await writeFileAtomic(join(out, `${stem}.png`), drawBoxesPng(p.image, { boxes: d.flatMap((x) => x.box), cls: d.map((x) => x.cls), scores: d.map((x) => x.score) }, names));
          if (args.boolean('save-txt')) {
            const { width: w, height: h } = p.image;
            const lines = d.map((x) => [x.cls, (x.box[0] + x.box[2]) / 2 / w, (x.box[1] + x.box[3]) / 2 / h, (x.box[2] - x.box[0]) / w, (x.box[3] - x.box[1]) / h, x.score]
              .map((v, i) => (i === 0 ? String(v) : v.toFixed(6))).join(' '));
            await writeFileAtomic(join(out, 'labels', `${stem}.txt`), lines.length ? `${lines.join('\n')}\n` : '');
          }
          const imageId = input.ids.imageId(file);
          for (const x of d) {
            json.push({ image_id: imageId, category_id: input.ids.categoryId(x.cls), bbox: [x.box[0], x.box[1], x.box[2] - x.box[0], x.box[3] - x.box[1]], score: x.score });
          }
          const counts = new Map<string, number>();
          for (const x of d) counts.set(names[x.cls] ?? String(x.cls), (counts.get(names[x.cls] ?? String(x.cls)) ?? 0) + 1);
          process.stderr.write(`${basename(file)}: ${[...counts].map(([n, c]) => `${c} ${n}`).join(', ') || 'no detections'} (${((performance.now() - t) / preds.length).toFixed(0)} ms)\n`);
        }
      }
    } finally {
      await pool?.close();
    }
    if (args.boolean('save-json') && detects) {
      await writeFileAtomic(join(out, 'predictions.json'), JSON.stringify(json));
      process.stderr.write(`predictions.json: ${json.length} detections; ${input.ids.form === 'dataset'
        ? `image_id and category_id of ${dataSpec}` : 'image_id = file stem, category_id = 0-based class index'}\n`);
    }
    if (multi) await writeFileAtomic(join(out, 'tasks.json'), `${JSON.stringify(taskJson, null, 1)}\n`);
    await loaded.dispose();
    process.stdout.write(`results saved to ${out} (engine: ${runner.engine})\n`);
    return 0;
  },
};
