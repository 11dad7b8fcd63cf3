import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { formatDuration, formatPostfix, formatProgressLine, formatRate, ProgressBar, renderBar } from '../../src/util/progress.js';

class Collector extends Writable {
  chunks: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk.toString());
    done();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** A clock the test advances by hand, in milliseconds. */
function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('formatting', () => {
  it('formatDuration', () => {
    assert.equal(formatDuration(0), '00:00');
    assert.equal(formatDuration(12.9), '00:12');
    assert.equal(formatDuration(75), '01:15');
    assert.equal(formatDuration(3600 + 62), '1:01:02');
    assert.equal(formatDuration(Number.NaN), '?');
    assert.equal(formatDuration(Infinity), '?');
  });

  it('formatRate', () => {
    assert.equal(formatRate(36.24), '36.2 it/s');
    assert.equal(formatRate(3.14321, 'img'), '3.14 img/s');
    assert.equal(formatRate(1234.6), '1235 it/s');
    assert.equal(formatRate(0.4), '2.50 s/it');
    assert.equal(formatRate(0), '? it/s');
    assert.equal(formatRate(Number.NaN, 'img'), '? img/s');
  });

  it('renderBar', () => {
    assert.equal(renderBar(0, 4), '    ');
    assert.equal(renderBar(1, 4), '████');
    assert.equal(renderBar(0.5, 4), '██  ');
    assert.equal(renderBar(0.45, 14), '██████▎       ');
    assert.equal(renderBar(2, 3), '███');
    assert.equal(renderBar(-1, 3), '   ');
    for (const f of [0.01, 0.33, 0.999]) assert.equal(renderBar(f, 10).length, 10);
  });

  it('formatPostfix', () => {
    assert.equal(formatPostfix({ loss: 1.23456, step: 3, tag: 'x', lr: 1e-5 }), 'loss=1.235 step=3 tag=x lr=1.00e-5');
    assert.equal(formatPostfix(undefined), '');
  });

  it('formatProgressLine', () => {
    const line = formatProgressLine({
      label: 'train',
      done: 450,
      total: 1000,
      elapsedSeconds: 12.4,
      width: 14,
      postfix: { loss: 1.234 },
    });
    assert.equal(line, 'train  45%|██████▎       | 450/1000 [00:12<00:15, 36.3 it/s] loss=1.234');
    assert.equal(formatProgressLine({ done: 0, total: 10, elapsedSeconds: 0, width: 2, unit: 'img' }), '  0%|  | 0/10 [00:00<?, ? img/s]');
  });
});

describe('ProgressBar', () => {
  it('prints one line per 10% when not a TTY', () => {
    const stream = new Collector();
    const clock = fakeClock();
    const bar = new ProgressBar({ total: 1000, label: 'eval', stream, unit: 'img', width: 10, now: clock.now });
    for (let i = 0; i < 1000; i++) {
      clock.advance(10);
      bar.tick(1, { loss: 0.5 });
    }
    bar.finish();
    bar.finish();
    const lines = stream.text.split('\n').filter(Boolean);
    assert.equal(lines.length, 10);
    assert.ok(!stream.text.includes('\r'));
    assert.match(lines[0]!, /^eval {2}10%\|█ {9}\| 100\/1000 /);
    assert.equal(lines.at(-1), 'eval 100%|██████████| 1000/1000 [00:10<00:00, 100 img/s] loss=0.5');
  });

  it('prints the final line on finish() after an early stop', () => {
    const stream = new Collector();
    const bar = new ProgressBar({ total: 100, stream, tty: false, now: fakeClock().now });
    bar.update(15);
    bar.update(17);
    bar.finish();
    const lines = stream.text.split('\n').filter(Boolean);
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, / 17%\|.*\| 17\/100 /);
  });

  it('redraws in place at most every 100 ms on a TTY', () => {
    const stream = new Collector();
    const clock = fakeClock();
    const bar = new ProgressBar({ total: 100, stream, tty: true, now: clock.now });
    for (let i = 0; i < 100; i++) {
      clock.advance(10);
      bar.tick();
    }
    bar.finish();
    // ~1 s of work at 100 ms intervals: ~10 redraws, plus the forced 100% and finish draws.
    assert.ok(stream.chunks.length <= 13 && stream.chunks.length >= 10, `${stream.chunks.length} draws`);
    assert.ok(stream.chunks.every((c) => c.startsWith('\r')));
    assert.ok(stream.text.endsWith('\n'));
    assert.match(stream.chunks.at(-1)!, /100%.*100\/100/);
  });
});
