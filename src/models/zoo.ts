/**
 * The model zoo: every YAML file in configs/models/ is a model, constructible by
 * its name. `resolveModelConfig` also accepts a path to a user's own YAML file.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ModelConfig, readModelConfig } from './config.js';

/** configs/models/ at the package root (this file compiles to dist/src/models/zoo.js). */
export const ZOO_DIR = fileURLToPath(new URL('../../../configs/models/', import.meta.url));

export function listZoo(): ModelConfig[] {
  return readdirSync(ZOO_DIR)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => readModelConfig(join(ZOO_DIR, f)));
}

/** A zoo name (e.g. `yolor-n`) or a path to a YAML config. */
export function resolveModelConfig(nameOrPath: string): ModelConfig {
  if (/\.ya?ml$/i.test(nameOrPath) || nameOrPath.includes('/')) {
    if (!existsSync(nameOrPath)) throw new Error(`model config file not found: ${nameOrPath}`);
    return readModelConfig(nameOrPath);
  }
  for (const ext of ['.yaml', '.yml']) {
    const p = join(ZOO_DIR, nameOrPath + ext);
    if (existsSync(p)) return readModelConfig(p);
  }
  const names = listZoo().map((c) => c.name);
  throw new Error(`unknown model '${nameOrPath}' (zoo: ${names.join(', ')}; or give a path to a .yaml config)`);
}
