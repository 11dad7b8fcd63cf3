/**
 * A dependency-free argument parser with typed option specs. Every mistake the
 * user can make surfaces as a UsageError whose message fits on one line, so the
 * CLI can print `yolor <cmd>: <message>` and exit 2.
 */

export type OptionType = 'string' | 'number' | 'int' | 'boolean' | 'enum';
export type OptionValue = string | number | boolean;

export interface OptionSpec {
  /** Long name without dashes, e.g. 'max-det' for --max-det. */
  name: string;
  type: OptionType;
  description: string;
  /** Allowed values; required when type is 'enum'. */
  choices?: readonly string[];
  default?: OptionValue;
  /** Value name shown in help, e.g. 'N' in `--epochs <N>`. */
  valueName?: string;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  choices?: readonly string[];
}

export class UsageError extends Error {
  /** False when pointing at --help would not help (e.g. the command is not available yet). */
  readonly seeHelp: boolean;
  constructor(message: string, seeHelp = true) {
    super(message);
    this.name = 'UsageError';
    this.seeHelp = seeHelp;
  }
}

/** The parse result; typed getters catch spec/usage mismatches in our own code early. */
export class ParsedArgs {
  constructor(
    readonly values: Readonly<Record<string, OptionValue | undefined>>,
    readonly positionals: readonly string[],
    readonly help: boolean,
  ) {}

  private get(name: string, kind: string): OptionValue | undefined {
    if (!(name in this.values)) throw new Error(`internal: option --${name} is not in this command's spec`);
    const v = this.values[name];
    if (v !== undefined && typeof v !== kind) throw new Error(`internal: option --${name} is not a ${kind}`);
    return v;
  }
  string(name: string): string | undefined {
    return this.get(name, 'string') as string | undefined;
  }
  number(name: string): number | undefined {
    return this.get(name, 'number') as number | undefined;
  }
  boolean(name: string): boolean {
    return (this.get(name, 'boolean') as boolean | undefined) ?? false;
  }
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

function convert(spec: OptionSpec, raw: string): OptionValue {
  const flag = `--${spec.name}`;
  switch (spec.type) {
    case 'string':
      return raw;
    case 'number':
    case 'int': {
      // Number('') is 0 and Number(' 3') is 3; reject both so typos do not become values.
      const n = raw.trim() === raw && raw !== '' ? Number(raw) : Number.NaN;
      if (!Number.isFinite(n)) throw new UsageError(`option ${flag} expects a number, got '${raw}'`);
      if (spec.type === 'int' && !Number.isInteger(n)) throw new UsageError(`option ${flag} expects an integer, got '${raw}'`);
      return n;
    }
    case 'enum': {
      const choices = spec.choices ?? [];
      if (!choices.includes(raw)) throw new UsageError(`option ${flag} must be one of ${choices.join(', ')} (got '${raw}')`);
      return raw;
    }
    case 'boolean': {
      const w = raw.toLowerCase();
      if (TRUE_WORDS.has(w)) return true;
      if (FALSE_WORDS.has(w)) return false;
      throw new UsageError(`option ${flag} is a switch; expected true or false, got '${raw}'`);
    }
  }
}

function checkPositionals(given: readonly string[], specs: readonly PositionalSpec[]): void {
  if (given.length > specs.length) throw new UsageError(`unexpected argument '${given[specs.length]}'`);
  specs.forEach((spec, i) => {
    const v = given[i];
    if (v === undefined) {
      if (spec.required) throw new UsageError(`missing <${spec.name}>${spec.choices ? ` (one of ${spec.choices.join(', ')})` : ''}`);
    } else if (spec.choices && !spec.choices.includes(v)) {
      throw new UsageError(`<${spec.name}> must be one of ${spec.choices.join(', ')} (got '${v}')`);
    }
  });
}

/**
 * Parses `--flag value`, `--flag=value`, boolean switches, `--no-switch`, `--`
 * and positionals. `-h`/`--help` short-circuits validation of what is missing,
 * so `yolor data --help` works without an action.
 */
export function parseArgs(argv: readonly string[], options: readonly OptionSpec[], positionals: readonly PositionalSpec[] = []): ParsedArgs {
  const specs = new Map(options.map((o) => [o.name, o]));
  const values: Record<string, OptionValue | undefined> = {};
  for (const o of options) values[o.name] = o.default;
  const rest: string[] = [];
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      rest.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);

    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const spec = specs.get(name);
    if (!spec && name.startsWith('no-')) {
      const negated = specs.get(name.slice(3));
      if (negated?.type === 'boolean') {
        if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
        values[negated.name] = false;
        continue;
      }
    }
    if (!spec) throw new UsageError(`unknown option --${name}`);

    if (spec.type === 'boolean') {
      values[spec.name] = inline === undefined ? true : convert(spec, inline);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      // A following `--x` is almost always a forgotten value, not a value that starts with dashes.
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`option --${spec.name} requires a value`);
      }
      raw = next;
      i++;
    }
    values[spec.name] = convert(spec, raw);
  }

  if (!help) checkPositionals(rest, positionals);
  return new ParsedArgs(values, rest, help);
}
