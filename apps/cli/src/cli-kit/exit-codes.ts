/**
 * Exit codes every `sentcopy` command uses, so scripts can tell outcomes apart without parsing
 * output. Documented in `sentcopy --help`.
 */
export const exitCodes = {
  /** Everything asked for was done. */
  ok: 0,
  /** The command failed: a destination or worker refused, a file could not be written… */
  failure: 1,
  /** The command line or the configuration is wrong; nothing was done. */
  usage: 2,
  /** What was asked for (a destination, an object, a message id) does not exist. */
  notFound: 3,
  /** The command ran to the end but found problems: rejected lines, corrupt or missing objects. */
  problemsFound: 4,
  /** A destination or worker could not be reached; trying again later may work. */
  unavailable: 5,
} as const;

/** One of {@link exitCodes}. */
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];
