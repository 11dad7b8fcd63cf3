#!/usr/bin/env node
/**
 * `yolor` entry point: dispatches to the registered commands and owns the exit
 * code contract: 0 success, 1 runtime failure, 2 bad invocation. Errors are a
 * single `yolor <cmd>: <message>` line on stderr so they read well in CI logs.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, UsageError } from './args.js';
import { allOptions, type Command, findCommand, formatCommandHelp, formatMainHelp } from './command.js';

const debug = process.env.YOLOR_DEBUG === '1';

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
}

function fail(prefix: string, message: string): void {
  process.stderr.write(`${prefix}: ${message}\n`);
}

function packageVersion(): string {
  // dist/src/cli/main.js -> package root; the same relative path holds in an installed package.
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/**
 * tfjs-backend-cpu prints a multi-line "Hi, looks like you are running
 * TensorFlow.js in Node.js ..." banner on its first tensor when the IS_NODE flag
 * is set, and selftest uses the cpu backend as its reference even under
 * --backend wasm. The banner goes through tfjs's log.warn, which stays silent
 * when the PROD flag is set. In tfjs-core 4.22 PROD does nothing else (DEBUG
 * checks are already off by default), whereas forcing IS_NODE off would change
 * platform and wasm-threads detection. With YOLOR_DEBUG=1 we keep tfjs's
 * warnings, since they also carry the underlying reason a backend failed to init.
 */
async function quietTfjs(): Promise<void> {
  if (debug) return;
  const tf = await import('@tensorflow/tfjs-core');
  tf.env().set('PROD', true);
}

async function runCommand(cmd: Command, argv: readonly string[]): Promise<number> {
  const prefix = `yolor ${cmd.name}`;
  try {
    const args = parseArgs(argv, allOptions(cmd), cmd.positionals);
    if (args.help) {
      process.stdout.write(`${formatCommandHelp(cmd)}\n`);
      return 0;
    }
    await quietTfjs();
    return await cmd.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      const hint = err.seeHelp ? ` (see '${prefix} --help')` : '';
      fail(prefix, oneLine(err.message) + hint);
      return 2;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    if (debug && e.stack) {
      process.stderr.write(`${prefix}: ${e.stack}\n`);
    } else {
      fail(prefix, oneLine(e.message.split('\n')[0] ?? '') || e.name);
    }
    return 1;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    process.stdout.write(`${formatMainHelp()}\n`);
    return 0;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      process.stdout.write(`${formatMainHelp()}\n`);
      return 0;
    }
    const cmd = findCommand(topic);
    if (!cmd) {
      fail('yolor help', `unknown command '${topic}' (see 'yolor --help')`);
      return 2;
    }
    process.stdout.write(`${formatCommandHelp(cmd)}\n`);
    return 0;
  }
  if (first.startsWith('-')) {
    fail('yolor', `unknown option ${first}; options go after the command (see 'yolor --help')`);
    return 2;
  }
  const cmd = findCommand(first);
  if (!cmd) {
    fail('yolor', `unknown command '${first}' (see 'yolor --help')`);
    return 2;
  }
  return runCommand(cmd, rest);
}

// `yolor env | head -1` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// exitCode rather than process.exit() so buffered stdout (large JSON reports) is flushed.
process.exitCode = await main(process.argv.slice(2));
