// The contract between the log-signature catalogue and the rules that turn its matches into evidence.
// A signature reads what a service itself logged (its stdout/stderr lines in the journal, in time
// order) and names the cause in words a person acts on, quoting the line that says so.

/** Which family of the catalogue a signature belongs to (one file per family under signatures/). */
export type SignatureFamily = 'errno' | 'runtime' | 'timeout';

/** What a match names, for rules that add context (LimitNOFILE for EMFILE, the disk for ENOSPC). */
export interface SignatureObject {
  /** the errno name: ECONNREFUSED, ENOSPC, EMFILE, ... */
  errno?: string;
  /** host:port of the peer (IPv6 in brackets) */
  peer?: string;
  /** a file or directory path */
  path?: string;
  /** a port number (EADDRINUSE) */
  port?: number;
  /** what timed out: a URL, host:port or a name, as the service said it */
  target?: string;
  /** the runtime or library that reported it: node, v8, java, go, python, rust, glibc */
  runtime?: string;
}

export interface SignatureMatch {
  /** stable id: `errno.ECONNREFUSED`, `runtime.v8-heap-oom`, `runtime.python-traceback`, `timeout.named` */
  id: string;
  family: SignatureFamily;
  /** the cause in words: "dependency 127.0.0.1:5432 refused connections", "missing file /etc/app/config.json" */
  cause: string;
  /** index (into the lines scanned) of the line that names the cause: the one to quote */
  line: number;
  /** indexes of every line the match used (a traceback's, a Node error object's), ascending */
  lines: number[];
  /**
   * `proves`: the program said it is dying of this (a runtime's fatal error, a panic);
   * `suggests`: it met an error that can explain the failure (a refused connection, a missing file)
   */
  strength: 'proves' | 'suggests';
  object?: SignatureObject;
}
