/**
 * Starts the swarm (bench/swarmClients.ts) as ONE child process and, as a {@link Launcher}, lets
 * a real coordinator "launch" N workers with it: every invocation is reported accepted as soon
 * as the swarm has its plan, and the swarm dials in with the run's worker certificate taken from
 * the invocation payload. The echo baseline uses {@link startSwarmProcess} directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Launcher, LaunchReport, LaunchRequest } from '../runtime/launch/launcher.js';
import type { SwarmPlan, SwarmReply, SwarmRequest, SwarmStats } from './swarmClients.js';

/** How to start the swarm process: a script whose main serves the swarm over IPC. */
export interface SwarmCommand {
  script: string;
  args: string[];
  /** Node options for the swarm process (e.g. `--cpu-prof`). */
  execArgv?: string[];
}

export interface SwarmProcess {
  child: ChildProcess;
  /** Ask the swarm for its stats and let it exit; bounded by `graceMs`. */
  finish(graceMs?: number): Promise<SwarmStats | undefined>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/**
 * Spawn the swarm and hand it the plan; resolves once it has started dialling.
 *
 * @example const swarm = await startSwarmProcess({ script, args: ['--swarm-clients'] }, plan);
 */
export function startSwarmProcess(command: SwarmCommand, plan: SwarmPlan): Promise<SwarmProcess> {
  const child = spawn(process.execPath, [...(command.execArgv ?? []), command.script, ...command.args], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let stats: SwarmStats | undefined;
  const gotStats = new Promise<void>((resolve) => {
    child.on('message', (reply: SwarmReply) => {
      if (reply.type === 'stats') {
        stats = reply.stats;
        resolve();
      }
    });
    void exited.then(() => resolve());
  });
  const handle: SwarmProcess = {
    child,
    exited,
    async finish(graceMs = 5_000) {
      if (child.connected) child.send({ type: 'finish' } satisfies SwarmRequest);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await Promise.all([gotStats, exited]);
      clearTimeout(timer);
      return stats;
    },
  };
  return new Promise((resolve, reject) => {
    const onExit = ({ code, signal }: { code: number | null; signal: string | null }) =>
      reject(new Error(`swarm process exited before starting (code ${code}, signal ${signal})`));
    void exited.then(onExit);
    child.once('error', reject);
    child.on('message', (reply: SwarmReply) => {
      if (reply.type === 'started') resolve(handle);
    });
    child.send({ type: 'plan', plan } satisfies SwarmRequest);
  });
}

export interface SwarmLauncherOptions {
  command: SwarmCommand;
  connectConcurrency: number;
  timeoutMs: number;
  failInvocations?: number[];
}

/** A {@link Launcher} whose workers are the swarm; {@link SwarmLauncher.stats} after `stop()`. */
export interface SwarmLauncher extends Launcher {
  stats(): SwarmStats | undefined;
}

/**
 * @example
 * const launcher = createSwarmLauncher({ command, connectConcurrency: 256, timeoutMs: 600_000 });
 * const coordinator = await Coordinator.create(options, { store, log, launcher });
 * await coordinator.run(); // stops the launcher at the end
 * launcher.stats()?.connected;
 */
export function createSwarmLauncher(options: SwarmLauncherOptions): SwarmLauncher {
  let swarm: SwarmProcess | undefined;
  let stats: SwarmStats | undefined;
  let stopped = false;
  return {
    async launch(requests: LaunchRequest[], report: (report: LaunchReport) => void): Promise<void> {
      const first = requests[0];
      if (!first || stopped) return;
      const { event } = first;
      const plan: SwarmPlan = {
        host: event.addr,
        port: event.port,
        ca: event.cacert,
        cert: event.wrkcert,
        key: event.wrkkey,
        servername: event.srvname ?? 'xc-orch-coordinator',
        invocations: requests.map((r) => r.invocation),
        connectConcurrency: options.connectConcurrency,
        bucket: event.bucket,
        command: event.command ?? '',
        timeoutMs: options.timeoutMs,
        ...(options.failInvocations ? { failInvocations: options.failInvocations } : {}),
      };
      try {
        swarm = await startSwarmProcess(options.command, plan);
      } catch (error) {
        for (const { invocation } of requests) report({ type: 'failed', invocation, reason: String(error) });
        return;
      }
      for (const { invocation } of requests) report({ type: 'accepted', invocation });
      void swarm.exited.then(({ code, signal }) => {
        if (!stopped && code !== 0) {
          for (const { invocation } of requests) report({ type: 'exited', invocation, code, signal, detail: 'swarm process died' });
        }
      });
    },
    async stop(): Promise<void> {
      stopped = true;
      stats = (await swarm?.finish()) ?? stats;
    },
    stats: () => stats,
  };
}
