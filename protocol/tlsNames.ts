/**
 * Names carried by the run's certificates. Kept apart from the certificate generator so that the
 * worker, which only checks the name, does not load an X.509 library at start-up.
 */

/** The DNS name in the coordinator's certificate that workers check (not a resolvable host). */
export const COORDINATOR_NAME = 'xc-orch-coordinator';

/** The name in the workers' client certificate. */
export const WORKER_NAME = 'xc-orch-worker';
