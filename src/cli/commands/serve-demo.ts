import type { Command } from '../command.js';

export const serveDemoCommand: Command = {
  name: 'serve-demo',
  summary: 'serve the browser detection demo with a checkpoint',
  usage: 'yolor serve-demo --weights CKPT [--format tfjs|onnx] [--samples auto|DIR|none] [--port N] [--imgsz S] [--host H]',
  description:
    'Exports a checkpoint for the browser (TF.js graph model, or ONNX for onnxruntime-web) and serves\n' +
    'the demo page built by `npm run build:demo` with it, plus up to 8 sample images of the\n' +
    "checkpoint's own validation data (or of --samples DIR). The page opens on the first sample, already\n" +
    'detected, on the best backend (WebGPU, WebGL, wasm; force one with ?backend=NAME), and detects in any\n' +
    'image picked, dropped or pasted, or in camera frames: boxes, scores and latency, and for a multi-task\n' +
    'checkpoint the image labels and a segmentation overlay. Stop with Ctrl-C.',
  options: [
    { name: 'weights', type: 'string', valueName: 'CKPT', description: 'checkpoint directory' },
    { name: 'format', type: 'enum', choices: ['tfjs', 'onnx'], default: 'tfjs', description: 'model format the page runs' },
    { name: 'port', type: 'int', valueName: 'N', default: 8080, description: 'TCP port (0: any free port)' },
    { name: 'imgsz', type: 'int', valueName: 'PX', description: 'inference size (default: the training size recorded in the checkpoint)' },
    {
      name: 'samples',
      type: 'string',
      valueName: 'auto|DIR|none',
      default: 'auto',
      description: "sample images: the checkpoint's validation data (auto), a folder's images, or none",
    },
    { name: 'host', type: 'string', valueName: 'HOST', default: '127.0.0.1', description: 'interface to listen on (0.0.0.0: all)' },
  ],
  async run(args) {
    const { UsageError } = await import('../args.js');
    const weights = args.string('weights');
    if (!weights) throw new UsageError('--weights is required', true);
    const port = args.number('port')!;
    if (port < 0 || port > 65535) throw new UsageError(`--port must be in 0..65535; got ${port}`, true);
    const imgsz = args.number('imgsz');
    if (imgsz !== undefined && imgsz <= 0) throw new UsageError(`--imgsz must be positive; got ${imgsz}`, true);
    const samples = args.string('samples')!;
    const { existsSync } = await import('node:fs');
    if (samples !== 'auto' && samples !== 'none' && !existsSync(samples))
      throw new UsageError(`--samples ${samples}: no such file or directory (or use auto or none)`, true);
    const { checkDemoBuilt, serveDemo } = await import('../../export/demo/serve.js');
    checkDemoBuilt(); // before the (slow) model export
    const { initBackend } = await import('../../engine/backend.js');
    await initBackend(args.string('backend') as 'auto');
    const server = await serveDemo({
      weights,
      format: args.string('format') as 'tfjs' | 'onnx',
      port,
      host: args.string('host')!,
      samples,
      ...(imgsz !== undefined ? { imgsz } : {}),
    });
    const c = server.config;
    const s = server.samples;
    const tasks = [c.labels ? 'labels' : '', c.segment ? 'segmentation' : ''].filter(Boolean);
    process.stdout.write(`serving ${c.model} (${c.format}, ${c.imgsz} px${tasks.length ? `, with ${tasks.join(' and ')}` : ''}) at ${server.url}\n`);
    process.stderr.write(
      s.images.length ? `${s.images.length} sample image${s.images.length === 1 ? '' : 's'} from ${s.source}\n` : `no sample images: ${s.note}\n`,
    );
    process.stderr.write('press Ctrl-C to stop\n');
    await new Promise<void>((res) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        res();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};
