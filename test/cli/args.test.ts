import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type OptionSpec, type PositionalSpec, parseArgs, UsageError } from '../../src/cli/args.js';

const SPECS: OptionSpec[] = [
  { name: 'name', type: 'string', description: 'a name', default: 'exp' },
  { name: 'lr0', type: 'number', description: 'learning rate', default: 0.01 },
  { name: 'epochs', type: 'int', description: 'epochs', default: 300 },
  { name: 'weights', type: 'string', description: 'no default' },
  { name: 'json', type: 'boolean', description: 'switch', default: false },
  { name: 'fuse', type: 'boolean', description: 'on by default', default: true },
  { name: 'optimizer', type: 'enum', choices: ['sgd', 'adamw'], description: 'enum', default: 'sgd' },
  { name: 'max-det', type: 'int', description: 'dashed name', default: 300 },
];
const ACTION: PositionalSpec[] = [{ name: 'action', description: 'what', required: true, choices: ['stats', 'convert'] }];

function usageError(argv: string[], pattern: RegExp, positionals: PositionalSpec[] = []): void {
  assert.throws(
    () => parseArgs(argv, SPECS, positionals),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes('\n'), 'usage errors are one line');
      return true;
    },
  );
}

describe('parseArgs', () => {
  test('applies defaults and leaves options without one undefined', () => {
    const a = parseArgs([], SPECS);
    assert.equal(a.string('name'), 'exp');
    assert.equal(a.number('lr0'), 0.01);
    assert.equal(a.number('epochs'), 300);
    assert.equal(a.string('weights'), undefined);
    assert.equal(a.boolean('json'), false);
    assert.equal(a.boolean('fuse'), true);
    assert.equal(a.string('optimizer'), 'sgd');
    assert.equal(a.help, false);
    assert.deepEqual(a.positionals, []);
  });

  test('converts each type from `--flag value` and `--flag=value`', () => {
    const a = parseArgs(['--name', 'run1', '--lr0=0.5', '--epochs', '3', '--optimizer=adamw', '--max-det', '10'], SPECS);
    assert.equal(a.string('name'), 'run1');
    assert.equal(a.number('lr0'), 0.5);
    assert.equal(a.number('epochs'), 3);
    assert.equal(a.string('optimizer'), 'adamw');
    assert.equal(a.number('max-det'), 10);
  });

  test('accepts negative and exponent numbers as values', () => {
    assert.equal(parseArgs(['--lr0', '-1e-3'], SPECS).number('lr0'), -0.001);
  });

  test('`=` keeps everything after the first `=`, including an empty string', () => {
    assert.equal(parseArgs(['--name=a=b'], SPECS).string('name'), 'a=b');
    assert.equal(parseArgs(['--name='], SPECS).string('name'), '');
  });

  test('boolean switches, --no-switch and explicit =true/=false', () => {
    assert.equal(parseArgs(['--json'], SPECS).boolean('json'), true);
    assert.equal(parseArgs(['--no-fuse'], SPECS).boolean('fuse'), false);
    assert.equal(parseArgs(['--fuse=false'], SPECS).boolean('fuse'), false);
    assert.equal(parseArgs(['--json=yes'], SPECS).boolean('json'), true);
    // A switch never swallows the next token.
    assert.deepEqual(parseArgs(['--json', 'stats'], SPECS, ACTION).positionals, ['stats']);
  });

  test('the last occurrence wins', () => {
    assert.equal(parseArgs(['--epochs', '1', '--epochs', '2'], SPECS).number('epochs'), 2);
    assert.equal(parseArgs(['--no-fuse', '--fuse'], SPECS).boolean('fuse'), true);
  });

  test('positionals, `--` and `-` pass through', () => {
    const a = parseArgs(['stats', '--json'], SPECS, ACTION);
    assert.deepEqual(a.positionals, ['stats']);
    assert.deepEqual(
      parseArgs(['-', '--', '--json'], SPECS, [
        { name: 'a', description: '' },
        { name: 'b', description: '' },
      ]).positionals,
      ['-', '--json'],
    );
  });

  test('--help and -h set help and skip positional checks', () => {
    assert.equal(parseArgs(['--help'], SPECS, ACTION).help, true);
    assert.equal(parseArgs(['-h', '--json'], SPECS, ACTION).help, true);
  });

  test('rejects unknown options, including --no- on a non-switch and short flags', () => {
    usageError(['--foo'], /^unknown option --foo$/);
    usageError(['--foo=1'], /^unknown option --foo$/);
    usageError(['--no-name'], /^unknown option --no-name$/);
    usageError(['-x'], /^unknown option -x$/);
  });

  test('rejects missing values', () => {
    usageError(['--name'], /option --name requires a value/);
    usageError(['--epochs', '--json'], /option --epochs requires a value/);
    usageError(['--no-fuse=1'], /--no-fuse takes no value/);
  });

  test('rejects bad numbers, non-integers and bad enum values', () => {
    usageError(['--lr0', 'abc'], /--lr0 expects a number, got 'abc'/);
    usageError(['--lr0='], /--lr0 expects a number/);
    usageError(['--lr0', 'Infinity'], /--lr0 expects a number/);
    usageError(['--epochs', '2.5'], /--epochs expects an integer, got '2.5'/);
    usageError(['--optimizer', 'adam'], /--optimizer must be one of sgd, adamw \(got 'adam'\)/);
    usageError(['--json=maybe'], /--json is a switch/);
  });

  test('checks positionals: required, choices, extras', () => {
    usageError([], /missing <action> \(one of stats, convert\)/, ACTION);
    usageError(['delete'], /<action> must be one of stats, convert \(got 'delete'\)/, ACTION);
    usageError(['stats', 'extra'], /unexpected argument 'extra'/, ACTION);
    usageError(['stray'], /unexpected argument 'stray'/);
  });

  test('typed getters catch spec mismatches in our own code', () => {
    const a = parseArgs([], SPECS);
    assert.throws(() => a.number('name'), /internal/);
    assert.throws(() => a.string('nope'), /internal/);
  });
});
