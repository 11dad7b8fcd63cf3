/**
 * The task table: every task of the unified network, listed once, in canonical
 * order (the order of heads in a model, of loss terms, of results.csv columns and
 * of tasks.json fields). Adding a task is a folder src/tasks/<name>/ whose
 * index.ts exports a TaskSpec, and one line here; the model, the trainer,
 * validation, prediction, results and the data-parallel replicas loop over
 * this list, and test/tasks/conformance.test.ts checks every entry.
 */
import { classifyTask } from './classify/index.js';
import { countTask } from './count/index.js';
import { detectTask } from './detect/index.js';
import { embedTask } from './embed/index.js';
import { segmentTask } from './segment/index.js';
import type { TaskSpec } from './types.js';

export const TASKS = [detectTask, classifyTask, segmentTask, embedTask, countTask] as const;

/** A task's name. */
export type TaskName = (typeof TASKS)[number]['name'];

export const TASK_NAMES: readonly TaskName[] = TASKS.map((t) => t.name);

type SpecOf<N extends TaskName> = Extract<(typeof TASKS)[number], { name: N }>;
type OutputOf<S> = S extends TaskSpec<string, infer O> ? O : never;

/** Raw outputs of every task head of a model (absent: the model has no such head). */
export type TaskOutputs = { [N in TaskName]?: OutputOf<SpecOf<N>> };

/** The spec of a task (an error naming the known ones for an unknown name). */
export function taskSpec(name: string): TaskSpec {
  const s = (TASKS as readonly TaskSpec[]).find((t) => t.name === name);
  if (!s) throw new Error(`unknown task '${name}' (known: ${TASK_NAMES.join(', ')})`);
  return s;
}

/** The specs of `tasks`, in canonical order. */
export function taskSpecs(tasks: readonly string[]): TaskSpec[] {
  for (const t of tasks) taskSpec(t);
  return (TASKS as readonly TaskSpec[]).filter((t) => tasks.includes(t.name));
}
