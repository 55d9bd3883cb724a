/**
 * The invocation payload ("event") a worker is started with: the same JSON whether it arrives as
 * a Lambda invocation, a local child process's stdin, or `xc-orch worker --event FILE`.
 * Field names follow mu (mu-reference section 2) where mu had them.
 */

export interface WorkerEvent {
  /** 0: run the command once and return its output; 1: connect to the coordinator. */
  mode: 0 | 1;
  /** Coordinator address and port. */
  addr: string;
  port: number;
  /** Invocation number (mu's `##ID##`), sent back in the hello so the coordinator can bind chunks. */
  id?: number;
  /** Store spec: `file:DIR` or an S3 bucket name; also the default `bucket` variable. */
  bucket: string;
  region: string;
  /** Endpoint of an S3-compatible service (tests, MinIO); omitted on AWS. */
  s3endpoint?: string;
  /** PEM of the run's CA: the only authority the worker trusts for the coordinator. */
  cacert: string;
  /** PEM certificate and key the worker presents (mutual TLS); issued by the run's CA. */
  wrkcert: string;
  wrkkey: string;
  /**
   * The name the coordinator's certificate must carry (TLS servername check). Generated run
   * credentials use `xc-orch-coordinator`; user certificates give their own (SAN DNS name or CN).
   * Default when absent: `xc-orch-coordinator`.
   */
  srvname?: string;
  /**
   * PEM of the one certificate the coordinator (and a relay) must present, checked instead of a
   * name; mu's payload pins its `srvcrt` (worker/muPayload.ts).
   */
  pinned_cert?: string;
  /**
   * 1: link the function's executables into the temp dir, where mu's coordinators call them as
   * `./xc-enc` (mu's worker ran commands in the function's own folder). Set for mu's payload.
   */
  link_tools?: 0 | 1;
  /** The function's own command template, run by a bare `run:` (mu baked it into the function). */
  command?: string;
  /** Defaults for template variables when vals lack `cmdinfile`, `cmdoutfile`, ... */
  infile?: string;
  outfile?: string;
  quality?: string;
  vars?: string;
  args?: string;
  nonblock: 0 | 1;
  bg_silent: 0 | 1;
  rm_tmpdir: 0 | 1;
  hash_s3keys: 0 | 1;
  /** ExCamera's chain (worker/stateFiles.ts): wait for the predecessor's state, send ours, recode from state 0. */
  expect_statefile?: 0 | 1;
  send_statefile?: 0 | 1;
  minimal_recode?: 0 | 1;
  /** Initial `run_iter` variable (default 0): which pass of the chain the next `run:` is. */
  run_iter?: number;
  /**
   * 1: `retrieve:`/`upload:` files may be anywhere the worker's user can write or read. Default 0:
   * only inside the worker's temp dir (symlinks followed). Not a sandbox: `run:` is a shell.
   */
  files_outside_tmpdir?: 0 | 1;
  /** Exit cleanly after this many seconds without a command (default 300). */
  idle_timeout_s?: number;
  /**
   * How long `##INSTATEWAIT##` waits for a peer's state before the `run:` fails naming it, in
   * seconds (default 600). A job sets it below Lambda's function timeout, so the reason is reported.
   */
  state_wait_s?: number;
  /** Largest frame accepted from the coordinator, in bytes (default 64 MiB). */
  max_frame_bytes?: number;
}
