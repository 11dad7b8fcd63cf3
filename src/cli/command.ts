/**
 * The Command contract and the one registry of subcommands. Command modules
 * import only types from here, so the registry's imports never form a cycle.
 */
import type { BackendRequest } from '../engine/backend.js';
import type { OptionSpec, ParsedArgs, PositionalSpec } from './args.js';
import { ablateCommand } from './commands/ablate.js';
import { cocoevalCommand } from './commands/cocoeval.js';
import { dataCommand } from './commands/data.js';
import { envCommand } from './commands/env.js';
import { exportCommand } from './commands/export.js';
import { infoCommand } from './commands/info.js';
import { predictCommand } from './commands/predict.js';
import { pretrainCommand } from './commands/pretrain.js';
import { probeCommand } from './commands/probe.js';
import { selftestCommand } from './commands/selftest.js';
import { serveDemoCommand } from './commands/serve-demo.js';
import { trainCommand } from './commands/train.js';
import { valCommand } from './commands/val.js';
import { formatTable } from './table.js';

export interface Command {
  name: string;
  /** One line for the `yolor --help` command list. */
  summary: string;
  /** Synopsis line, e.g. 'yolor selftest [options]'. */
  usage: string;
  /** Paragraph(s) shown under the usage line in `yolor <cmd> --help`. */
  description?: string;
  /** Command-specific options; SHARED_OPTIONS are appended by the dispatcher. */
  options: readonly OptionSpec[];
  positionals?: readonly PositionalSpec[];
  /** Resolves to the process exit code. Throw UsageError for bad input, Error for failures. */
  run(args: ParsedArgs): Promise<number>;
}

/**
 * Spelled out rather than imported from engine/backend.ts so that `--help`
 * does not load TensorFlow.js; `satisfies` keeps the two lists in step.
 */
const BACKEND_CHOICES = ['auto', 'native', 'node', 'wasm', 'cpu'] as const satisfies readonly BackendRequest[];
type MissingBackend = Exclude<BackendRequest, (typeof BACKEND_CHOICES)[number]>;
const backendListComplete: MissingBackend extends never ? true : false = true;
void backendListComplete;

/** Options every command accepts. */
export const SHARED_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'backend',
    type: 'enum',
    choices: BACKEND_CHOICES,
    default: 'auto',
    description:
      'compute backend: auto prefers tfjs-node when installed, else wasm with the native kernels (npm run build:native), else plain wasm; native insists on the addon',
  },
];

/** The registry, in the order `yolor --help` lists them. */
export const COMMANDS: readonly Command[] = [
  trainCommand,
  pretrainCommand,
  valCommand,
  predictCommand,
  probeCommand,
  ablateCommand,
  exportCommand,
  serveDemoCommand,
  cocoevalCommand,
  dataCommand,
  infoCommand,
  selftestCommand,
  envCommand,
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function allOptions(cmd: Command): readonly OptionSpec[] {
  return [...cmd.options, ...SHARED_OPTIONS];
}

function optionSignature(o: OptionSpec): string {
  if (o.type === 'boolean') return o.default === true ? `--[no-]${o.name}` : `--${o.name}`;
  const valueLabel = o.type === 'enum' ? (o.choices ?? []).join('|') : (o.valueName ?? o.type.toUpperCase());
  return `--${o.name} <${valueLabel}>`;
}

/** Off switches are the obvious default, so only defaults that tell the reader something are shown. */
function describeOption(o: OptionSpec): string {
  if (o.default === undefined || o.default === false) return o.description;
  return `${o.description} (default: ${String(o.default)})`;
}

export function formatCommandHelp(cmd: Command): string {
  const lines = [`Usage: ${cmd.usage}`, '', cmd.description ?? cmd.summary];
  if (cmd.positionals?.length) {
    const rows = cmd.positionals.map((p) => [`<${p.name}>`, p.choices ? `${p.description} (${p.choices.join('|')})` : p.description]);
    lines.push('', 'Arguments:', formatTable(rows, { indent: 2 }));
  }
  const rows = allOptions(cmd).map((o) => [optionSignature(o), describeOption(o)]);
  rows.push(['-h, --help', 'show this help']);
  lines.push('', 'Options:', formatTable(rows, { indent: 2 }));
  return lines.join('\n');
}

export function formatMainHelp(): string {
  const rows = COMMANDS.map((c) => [c.name, c.summary]);
  return [
    'Usage: yolor <command> [options]',
    '',
    'YOLOR (explicit + implicit knowledge) multi-task detectors on TensorFlow.js.',
    '',
    'Commands:',
    formatTable(rows, { indent: 2 }),
    '',
    "Run 'yolor <command> --help' (or 'yolor help <command>') for its options.",
    "Every command accepts --backend auto|node|wasm|cpu. 'yolor --version' prints the version.",
  ].join('\n');
}
