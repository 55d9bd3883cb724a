/**
 * The process groups of one worker's `run:` commands. Each command runs as the leader of a group
 * of its own (runShell.ts), and what it leaves behind (`run:CMD &`) stays in that group after the
 * shell has exited; ending every group when the worker ends leaves no orphans running on.
 */

export class ProcessGroups {
  private readonly groups = new Set<number>();

  /** Remember the group led by `pgid` (a command's shell, spawned detached). */
  add(pgid: number): void {
    this.groups.add(pgid);
  }

  /**
   * The group's shell has ended: forget the group if nothing is left in it, so that a group id
   * reused later by an unrelated process is never signalled.
   */
  settled(pgid: number): void {
    if (!signalGroup(pgid, 0)) this.groups.delete(pgid);
  }

  /** SIGKILL every group still remembered (once the worker ends). */
  killAll(): void {
    for (const pgid of this.groups) signalGroup(pgid, 'SIGKILL');
    this.groups.clear();
  }
}

/** Send `signal` to every process of the group; false if the group is empty (ESRCH). */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    // EPERM: a member we may not signal (it changed user); the group is not empty.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
