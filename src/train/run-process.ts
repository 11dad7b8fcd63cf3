/**
 * One training run in a process of its own, the way ablate/ runs each variant
 * × seed: separate processes keep the runs apart (one tfjs engine and heap
 * each) and let several run at once.
 *
 * The child: `node dist/src/train/run-process.js [OPTIONS.json | -]` reads one
 * JSON object of TrainOptions, plus an optional `backend` (auto, node, wasm or
 * cpu; default auto), from the file named or from stdin, selects the backend,
 * calls train() and prints what `yolor train` prints: the backend line and
 * train()'s progress on stderr, trainSummary() on stdout. Exit status 0 on
 * success, 1 on failure with one line on stderr (the stack with YOLOR_DEBUG=1).
 *
 * The parent: `trainInProcess` starts one, hands it the options on stdin and
 * writes its output to a log file; a failure rejects with the log's last lines.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendRequest } from '../engine/backend.js';
import { parseJsonText, readJsonFile } from '../io/json.js';
import type { TrainOptions, TrainResult } from './trainer.js';

/** What the child reads: the run's TrainOptions and the backend to train on. */
export type TrainProcessInput = TrainOptions & { backend?: BackendRequest };

/** The lines `yolor train` ends with: where the run is, its last and best epoch, where the weights are. */
export function trainSummary(r: TrainResult): string {
  const last = r.rows.at(-1);
  let out = `${r.interrupted ? 'stopped' : 'done'}: ${r.runDir}\n`;
  if (last && Number.isFinite(last['metrics/mAP50(B)'])) {
    out +=
      `  last epoch ${last.epoch}: mAP50 ${last['metrics/mAP50(B)'].toFixed(3)}, mAP50-95 ${last['metrics/mAP50-95(B)'].toFixed(3)}; ` +
      `best epoch ${r.best.epoch} (fitness ${r.best.fitness.toFixed(3)})\n`;
  }
  out += `  weights: ${r.runDir}/weights/best, ${r.runDir}/weights/last; plots and results.csv in ${r.runDir}\n`;
  return out;
}

const ENTRY = fileURLToPath(import.meta.url);

/** Trains `options` in a child process (this module as its entry), its stdout and stderr going to `logPath`. */
export function trainInProcess(options: TrainOptions, logPath: string, backend: BackendRequest = 'auto'): Promise<void> {
  const input: TrainProcessInput = { ...options, backend };
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(logPath);
    const child = spawn(process.execPath, [ENTRY], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    child.stdin.end(JSON.stringify(input));
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', reject);
    child.on('close', (code) => {
      log.end(() => {
        if (code === 0) {
          resolvePromise();
          return;
        }
        const tail = readFileSync(logPath, 'utf8')
          .replace(/\r/g, '\n')
          .split('\n')
          .filter((l) => l.trim())
          .slice(-8)
          .join('\n  ');
        reject(new Error(`training run failed (exit ${code}); log ${logPath}:\n  ${tail}`));
      });
    });
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The child: options in, one training run, the summary out. */
async function main(argv: readonly string[]): Promise<number> {
  const debug = process.env.YOLOR_DEBUG === '1';
  try {
    const file = argv[0] === undefined || argv[0] === '-' ? null : argv[0];
    const input = file === null ? parseJsonText(await readStdin(), '<stdin>') : readJsonFile(file);
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw new Error(`${file ?? '<stdin>'}: expected a JSON object of training options`);
    const { backend = 'auto', ...options } = input as TrainProcessInput;
    const tf = await import('@tensorflow/tfjs-core');
    // As the CLI does: no tfjs console banner unless debugging (PROD changes nothing else in tfjs-core 4.22).
    if (!debug) tf.env().set('PROD', true);
    const { initBackend } = await import('../engine/backend.js');
    const info = await initBackend(backend);
    process.stderr.write(`backend: ${info.name} (${info.reason})\n`);
    const { train } = await import('./trainer.js');
    process.stdout.write(trainSummary(await train(options)));
    return 0;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`train: ${debug && e.stack ? e.stack : e.message.split('\n')[0]}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && realpathSync(resolve(process.argv[1])) === realpathSync(ENTRY)) {
  process.exitCode = await main(process.argv.slice(2));
}
