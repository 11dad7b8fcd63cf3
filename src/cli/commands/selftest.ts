import type { BackendRequest } from '../../engine/backend.js';
import type { SelftestResult } from '../../engine/selftest.js';
import type { Command } from '../command.js';
import { formatSignificant, formatTable } from '../table.js';

function verdict(r: SelftestResult): string {
  return r.passed ? 'PASS' : 'FAIL';
}

function progressLine(r: SelftestResult, index: number): string {
  return `[${index}] ${verdict(r)} ${r.group} ${r.name} ${r.detail}: error ${formatSignificant(r.error)} (tolerance ${r.tolerance})`;
}

export const selftestCommand: Command = {
  name: 'selftest',
  summary: "verify the backend's training kernels and gradients numerically",
  usage: 'yolor selftest [--backend B] [--json] [--seed N] [--quick]',
  description:
    'Proves the selected backend can train: every custom training kernel is compared with the\n' +
    'pure-JS cpu backend on random shapes, and the gradient of every op a detection training step\n' +
    'uses is compared with central finite differences. Exits 1 if any check fails.',
  options: [
    { name: 'json', type: 'boolean', default: false, description: 'print the full report as JSON (no progress lines)' },
    { name: 'seed', type: 'int', valueName: 'N', default: 1234, description: 'seed for the random shapes and values' },
    { name: 'quick', type: 'boolean', default: false, description: 'fewer random shapes per kernel' },
  ],
  async run(args) {
    // Loaded lazily so that `yolor --help` and the planned commands stay instant.
    const { initBackend } = await import('../../engine/backend.js');
    const { runSelftest } = await import('../../engine/selftest.js');
    const json = args.boolean('json');
    const backend = await initBackend(args.string('backend') as BackendRequest);
    if (!json) process.stderr.write(`selftest on backend ${backend.name}: ${backend.reason}\n`);

    let count = 0;
    const report = await runSelftest({
      seed: args.number('seed'),
      quick: args.boolean('quick'),
      // Progress goes to stderr so stdout carries only the table (or the JSON).
      onResult: json ? undefined : (r) => process.stderr.write(`${progressLine(r, ++count)}\n`),
    });

    if (json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const rows = report.results.map((r) => [r.group, r.name, r.detail, formatSignificant(r.error), String(r.tolerance), verdict(r)]);
      const failed = report.results.filter((r) => !r.passed).length;
      process.stdout.write(
        `${formatTable(rows, {
          header: ['group', 'name', 'detail', 'error', 'tolerance', 'result'],
          align: ['left', 'left', 'left', 'right', 'right', 'left'],
        })}\n\n` +
          `backend ${report.backend}, ${report.seconds.toFixed(1)} s\n` +
          `${report.results.length - failed} passed, ${failed} failed\n`,
      );
    }
    return report.passed ? 0 : 1;
  },
};
