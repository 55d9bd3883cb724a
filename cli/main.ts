/**
 * The `xc-orch` command: a table of subcommands, each in its own module, loaded on demand so that
 * `xc-orch png2y4m` (run once per frame by workers) does not pay for the coordinator's imports.
 */

type Subcommand = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const SUBCOMMANDS: Record<string, Subcommand> = {
  png2y4m: { summary: 'convert PNG frames to a Y4M stream (the daala_tools png2y4m, byte-exact)', load: () => import('./png2y4m.js') },
  demo: { summary: 'run the png2y4m job on a synthetic clip, all on this machine (demo excamera: then ExCamera)', load: () => import('./demo.js') },
  run: { summary: 'run a job: xc-orch run JOB [options] (a built-in job or a job file)', load: () => import('./run.js') },
  jobs: { summary: 'list the built-in jobs', load: () => import('./jobs.js') },
  machines: { summary: 'list the statecharts, or print one as Mermaid, Stately source or JSON', load: () => import('./machines.js') },
  ivf: { summary: 'join IVF chunks into one stream: ivf join OUT IN...', load: () => import('./ivf.js') },
  plot: { summary: 'draw a run\'s -O timeline as a self-contained HTML or SVG picture', load: () => import('./plot.js') },
  worker: { summary: 'run one worker from an invocation payload (--event FILE|-)', load: () => import('./worker.js') },
  store: { summary: 'copy files and folders between disk and a store: store put|get|ls', load: () => import('./store.js') },
  rendezvous: { summary: 'the relay through which workers pass state to each other (mu\'s rendezvous server)', load: () => import('./rendezvous.js') },
  genkeys: { summary: 'write a CA, a coordinator and a worker certificate to DIR', load: () => import('./genkeys.js') },
  lambdaize: { summary: 'package the worker as an AWS Lambda function and create it', load: () => import('./lambdaize.js') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  const lines = Object.entries(SUBCOMMANDS).map(([name, cmd]) => `  ${name.padEnd(width)}  ${cmd.summary}`);
  return [
    'Usage: xc-orch <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `xc-orch <command> --help` for the options of a command.',
  ].join('\n');
}

/** Run the CLI with `args` (without node and script); resolves to the process exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stderr.write(`${usage()}\n`);
    return name === undefined ? 1 : 0;
  }
  const command = SUBCOMMANDS[name];
  if (!command) {
    process.stderr.write(`xc-orch: unknown command '${name}'\n\n${usage()}\n`);
    return 1;
  }
  const module = await command.load();
  return module.run(rest);
}
