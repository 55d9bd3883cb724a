/**
 * The xc-orch package: define a job, run it, or run a built-in one from a program.
 *
 * @example
 * import { defineJob, commandList, forLoop, createConnectionMachine, runJob, jobs } from 'xc-orch';
 * const summary = await runJob(jobs.png2y4m, { parts: 4, frames: 6 });
 */
export { defineJob, isJob } from './jobs/defineJob.js';
export type { AnyJob, Job, JobChunk, JobPlan, JobSpec, JobWorker, PlanContext, RunInput } from './jobs/defineJob.js';
export { jobs, findJob } from './jobs/registry.js';
export { loadJobFile } from './jobs/loadJobFile.js';
export { runJob } from './runtime/coordinator/runJob.js';
export type { JobRunOptions, RunHooks, RunStart } from './runtime/coordinator/runJob.js';
export { RUN_OPTIONS, type RunOptions } from './runtime/coordinator/runOptions.js';
export type { ChunkResult, JobSummary } from './runtime/coordinator/coordinator.js';
export { commandList, forLoop, ifInfo, infoWatcher, muSteps, onePass, pipelined, sequence, superposition } from './machines/blocks.js';
export type { Block, Step } from './machines/blocks.js';
export { createConnectionMachine } from './machines/connectionMachine.js';
export type { CommandScope, CommandSpec, JobVars } from './machines/commandTemplate.js';
export { optionTable, type OptionTable, type OptionValues, type ResolvedValues } from './common/optionTable.js';
export { ConfigError, DefinitionError, IllegalStateError, ProtocolError, StoreError } from './common/errors.js';
export { formatSummary } from './cli/formatSummary.js';
