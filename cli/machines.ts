/**
 * `xc-orch machines` lists the statecharts xc-orch runs (the supervisor and every built-in job's
 * connection machine); `xc-orch machines show NAME --format mermaid|stately|json` prints one of
 * them, NAME being a machine, a job or a job file, as a Mermaid diagram, Stately editor source or
 * XState JSON (see runtime/observe/machineExport.ts).
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { supervisorMachine } from '../machines/supervisor.js';
import { ConfigError } from '../common/errors.js';
import { formatCommandHelp, optionTable, parseOptionArgs, resolveOptions } from '../common/optionTable.js';
import { isJobPath, findJob, jobs } from '../jobs/registry.js';
import { exportMachine, MACHINE_FORMATS } from '../runtime/observe/machineExport.js';
import { reportError } from './args.js';

/** The machines a user can look at, by name. */
export const MACHINES: Readonly<Record<string, { machine: AnyStateMachine; summary: string }>> = {
  supervisor: { machine: supervisorMachine, summary: 'one per job: launches workers, binds each to a chunk, decides when the job is over' },
  ...Object.fromEntries(
    Object.values(jobs).map((job) => [job.name, { machine: job.machine, summary: `one per worker connection of the ${job.name} job` }]),
  ),
};

export const MACHINES_OPTIONS = optionTable({
  format: {
    flag: 'format', short: 'f', type: 'choice', choices: MACHINE_FORMATS, default: 'mermaid',
    help: 'mermaid: a Mermaid state diagram (for any Mermaid renderer);\nstately: createMachine({...}) source for Stately\'s editor (Import code);\njson: XState\'s JSON definition of the machine',
  },
});

export const MACHINES_OPERANDS = [
  { name: 'list', help: 'the statecharts xc-orch runs, with their number of states (the default)' },
  { name: 'show NAME', help: 'print one: a machine of the list, a built-in job, or a job file' },
] as const;

export const MACHINES_HELP = formatCommandHelp({
  usage: ['xc-orch machines [list]', 'xc-orch machines show NAME [--format mermaid|stately|json]'],
  about: 'Lists the statecharts xc-orch runs (the supervisor and every built-in job\'s connection\nmachine), or prints one of them.',
  operands: MACHINES_OPERANDS,
  tables: [MACHINES_OPTIONS],
  notes: 'Exit status: 0 on success, 2 for an unknown machine, format or action.',
});

function countStates(node: AnyStateNode): number {
  return (Object.values(node.states) as AnyStateNode[]).reduce((sum, child) => sum + 1 + countStates(child), 0);
}

/** `name  states  summary`, one line per machine. */
export function listMachines(): string {
  const width = Math.max(...Object.keys(MACHINES).map((name) => name.length));
  return Object.entries(MACHINES)
    .map(([name, { machine, summary }]) => `${name.padEnd(width)}  ${String(countStates(machine.root)).padStart(3)} states  ${summary}`)
    .join('\n');
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals, help } = parseOptionArgs(MACHINES_OPTIONS, args);
    if (help) {
      process.stdout.write(MACHINES_HELP);
      return 0;
    }
    const { format } = resolveOptions(MACHINES_OPTIONS, values);
    const [action, name, extra] = positionals;
    if (action === undefined || action === 'list') {
      if (name !== undefined) throw new ConfigError(`unexpected argument '${name}'`);
      process.stdout.write(`${listMachines()}\n`);
      return 0;
    }
    if (action !== 'show') throw new ConfigError(`unknown action '${action}' (known: list, show)`);
    if (name === undefined) throw new ConfigError(`name the machine to show (known: ${Object.keys(MACHINES).join(', ')})`);
    if (extra !== undefined) throw new ConfigError(`unexpected argument '${extra}'`);
    const entry = Object.hasOwn(MACHINES, name) ? MACHINES[name] : isJobPath(name) ? { machine: (await findJob(name)).machine } : undefined;
    if (!entry) throw new ConfigError(`no machine named '${name}' (known: ${Object.keys(MACHINES).join(', ')}; or a job file)`);
    process.stdout.write(exportMachine(entry.machine, format));
    return 0;
  } catch (error) {
    return reportError('machines', error);
  }
}
