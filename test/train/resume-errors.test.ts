/**
 * `--resume` names what is wrong with the path it was given — a missing
 * directory, a folder that is no run, a run without a resumable checkpoint —
 * instead of a raw ENOENT; a missing state.json is called state.json.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import { loadTrainState } from '../../src/train/checkpoint.js';
import { type TrainOptions, train } from '../../src/train/trainer.js';
import { tmp } from '../helpers/tmp.js';

let dir = '';
before(async () => {
  await initBackend('wasm');
  dir = tmp('resume-errors');
});

const opts = (resume: string | true, project = join(dir, 'runs')): TrainOptions => ({
  data: 'shapes-small',
  model: 'yolor-n',
  epochs: 1,
  batch: 2,
  imgsz: 64,
  project,
  name: 'x',
  seed: 0,
  workers: 0,
  optimizer: 'sgd',
  patience: 1,
  cache: false,
  valSplit: 'val',
  quiet: true,
  resume,
});

test('a wrong --resume path names what is missing', async () => {
  await assert.rejects(train(opts(join(dir, 'nope'))), /--resume .*nope: no such run directory/);
  const file = join(dir, 'file.txt');
  writeFileSync(file, 'x');
  await assert.rejects(train(opts(file)), /--resume .*file\.txt: not a directory; give the run folder/);
  const notRun = join(dir, 'not-a-run');
  mkdirSync(notRun, { recursive: true });
  await assert.rejects(train(opts(notRun)), /is not a training run folder \(no args\.yaml\)/);
  const noCkpt = join(dir, 'no-ckpt');
  mkdirSync(join(noCkpt, 'weights', 'last'), { recursive: true });
  writeFileSync(join(noCkpt, 'args.yaml'), 'epochs: 1\n');
  await assert.rejects(train(opts(noCkpt)), /the run has no resumable checkpoint \(.*weights\/last\/state\.json is missing\)/);
  await assert.rejects(train(opts(true, join(dir, 'no-project'))), /--resume: no runs under .*no-project \(the directory does not exist\)/);
  await assert.rejects(train(opts(true, join(dir))), /--resume: no run with a last checkpoint under/);
});

test('a missing state.json is reported as state.json, not model.json', async () => {
  const last = join(dir, 'lonely', 'weights', 'last');
  mkdirSync(last, { recursive: true });
  await assert.rejects(loadTrainState(last), (err: Error) => {
    assert.match(err.message, /^state\.json not found: .*weights\/last\/state\.json$/);
    return true;
  });
});
