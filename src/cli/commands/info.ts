import { UsageError } from '../args.js';
import type { Command } from '../command.js';
import { formatTable } from '../table.js';

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'describe model architectures: layers, parameters, FLOPs',
  usage: 'yolor info --list | --list-tasks | --list-pretext | --list-weights | --model <NAME|FILE> [--imgsz PX] [--tasks LIST] [--json]',
  description:
    'Lists the model zoo (--list) or the task table (--list-tasks: every task a network can train, what it\n' +
    "trains on, its default loss weight and results columns), or prints a model's per-layer table (name, type, output shape, params,\n" +
    'FLOPs) and totals at an image size, with the totals of its deploy form (batch norm and implicit\n' +
    'knowledge folded) and of the same architecture without implicit knowledge. GFLOPs = 2 x\n' +
    "multiply-adds for one image; --imgsz defaults to the model's own resolution. --tasks adds the\n" +
    'heads of a multi-task network (with their task codes when the config sets task_implicit).',
  options: [
    { name: 'list', type: 'boolean', default: false, description: 'list the built-in model configurations' },
    { name: 'list-tasks', type: 'boolean', default: false, description: 'list the tasks (--tasks of train and info take any of them)' },
    {
      name: 'list-pretext',
      type: 'boolean',
      default: false,
      description: 'list the self-supervised pretext tasks (--tasks of pretrain takes any of them)',
    },
    {
      name: 'list-weights',
      type: 'boolean',
      default: false,
      description: 'list the pretrained weights shipped in the package (--weights NAME) and how each was made',
    },
    { name: 'model', type: 'string', valueName: 'NAME|FILE', description: 'built-in model name or model config file' },
    { name: 'imgsz', type: 'int', valueName: 'PX', description: "image size for shapes and FLOPs (default: the model's)" },
    { name: 'tasks', type: 'string', valueName: 'LIST', description: "task heads, comma-separated (see --list-tasks; default: the config's)" },
    {
      name: 'task-implicit',
      type: 'enum',
      choices: ['none', 'add', 'mul', 'concat'],
      description: 'task-specific implicit codes of the non-detection heads',
    },
    { name: 'json', type: 'boolean', default: false, description: 'print the result as one JSON object' },
  ],
  async run(args) {
    const { listZoo, resolveModelConfig } = await import('../../models/zoo.js');
    const json = args.boolean('json');
    if (args.boolean('list')) {
      const zoo = listZoo();
      if (json) {
        process.stdout.write(
          `${JSON.stringify(zoo.map((c) => ({ name: c.name, description: c.description, phi: c.phi, neck: c.neck, imgsz: c.dims.imgsz })))}\n`,
        );
      } else {
        process.stdout.write(
          `${formatTable(
            zoo.map((c) => [c.name, c.description]),
            { header: ['model', 'description'] },
          )}\n`,
        );
      }
      return 0;
    }
    if (args.boolean('list-tasks')) {
      const { TASKS } = await import('../../tasks/registry.js');
      const rows = TASKS.map((t) => ({
        name: t.name,
        description: t.description,
        labels: t.labels,
        default_weight: t.defaultWeight,
        columns: [...t.columns],
      }));
      if (json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else
        process.stdout.write(
          `${formatTable(
            rows.map((r) => [r.name, String(r.default_weight), r.description]),
            { header: ['task', 'weight', 'description'] },
          )}\n`,
        );
      return 0;
    }
    if (args.boolean('list-pretext')) {
      const { PRETEXT_TASKS } = await import('../../pretext/registry.js');
      const rows = PRETEXT_TASKS.map((t) => ({ name: t.name, description: t.description, reference: t.reference, default_weight: t.defaultWeight }));
      if (json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else
        process.stdout.write(
          `${formatTable(
            rows.map((r) => [r.name, String(r.default_weight), r.description, r.reference]),
            { header: ['pretext task', 'weight', 'description', 'reference'] },
          )}\n`,
        );
      return 0;
    }
    if (args.boolean('list-weights')) {
      const { listPretrained } = await import('../../models/pretrained.js');
      const rows = listPretrained().map((e) => ({ name: e.name, model: e.model, made: e.made }));
      if (json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else
        process.stdout.write(
          `${formatTable(
            rows.map((r) => [r.name, r.model, String(r.made.command ?? ''), String(r.made.summary ?? '')]),
            { header: ['weights', 'model', 'made by', 'summary'] },
          )}\n`,
        );
      return 0;
    }
    const name = args.string('model');
    if (!name) throw new UsageError('give --list, --list-tasks, --list-pretext, --list-weights or --model NAME|FILE', true);
    let cfg = resolveModelConfig(name);
    if (args.string('tasks') || args.string('task-implicit')) {
      const { parseTaskList } = await import('../../tasks/multitask.js');
      const { parseModelConfig, serializeModelConfig } = await import('../../models/config.js');
      const tasks = args.string('tasks') ? parseTaskList(args.string('tasks')!) : cfg.tasks;
      // Label spaces as the config sets them (classify: num_labels, default nc); the embed head's identity
      // classifier is training-only, so it is absent from the deploy numbers whatever its size.
      cfg = parseModelConfig(
        {
          ...serializeModelConfig(cfg),
          tasks,
          ...(args.string('task-implicit') ? { task_implicit: args.string('task-implicit') } : {}),
          // A label space to size the heads by (the identity classifier is training-only: absent from the deploy numbers).
          num_identities: Math.max(cfg.numIdentities, 2),
        },
        name,
      );
    }
    const { fitImageSize, maxStrideOf } = await import('../../models/image-size.js');
    const fitted = fitImageSize(args.number('imgsz') ?? cfg.dims.imgsz, maxStrideOf(cfg), cfg.name);
    if (fitted.warning) process.stderr.write(`warning: ${fitted.warning}\n`);
    const imgsz = fitted.imgsz;
    const { initBackend } = await import('../../engine/backend.js');
    await initBackend(args.string('backend') as 'auto');
    const { Detector } = await import('../../models/detector.js');
    const { summarizeModel } = await import('../../models/summary.js');
    const { NO_IMPLICIT } = await import('../../models/config.js');
    const model = new Detector(cfg);
    const { model: deploy, report } = model.fuse();
    const plain = new Detector({ ...cfg, implicit: { ...NO_IMPLICIT }, taskImplicit: 'none' });
    try {
      const s = summarizeModel(model, imgsz);
      const d = summarizeModel(deploy, imgsz);
      const p = summarizeModel(plain, imgsz);
      const deployTotals = { params: d.params, gflops: d.gflops, kept: report.kept };
      const plainTotals = { params: p.params, gflops: p.gflops };
      if (json) {
        process.stdout.write(
          `${JSON.stringify({ model: s.name, imgsz: s.imgsz, params: s.params, gflops: s.gflops, layers: s.layers, deploy: deployTotals, plain: plainTotals })}\n`,
        );
        return 0;
      }
      const rows = s.layers.map((l) => [l.name, l.type, `[${l.outputShape.join(',')}]`, fmtInt(l.params), fmtInt(l.flops)]);
      process.stdout.write(
        `${formatTable(rows, { header: ['layer', 'type', 'output', 'params', 'FLOPs'], align: ['left', 'left', 'left', 'right', 'right'] })}\n\n`,
      );
      process.stdout.write(
        `${s.name}: ${s.layers.length} layers, ${fmtInt(s.params)} parameters, ${s.gflops.toFixed(3)} GFLOPs at ${imgsz}x${imgsz}\n`,
      );
      process.stdout.write(`  deploy (batch norm and implicit knowledge folded): ${fmtInt(d.params)} parameters, ${d.gflops.toFixed(3)} GFLOPs\n`);
      process.stdout.write(`  same architecture without implicit knowledge:     ${fmtInt(p.params)} parameters, ${p.gflops.toFixed(3)} GFLOPs\n`);
      for (const k of report.kept) process.stdout.write(`  not folded: ${k}\n`);
      return 0;
    } finally {
      model.dispose();
      deploy.dispose();
      plain.dispose();
    }
  },
};
