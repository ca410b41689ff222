/** Exit codes a CI job can branch on; the README lists them. */
export const ExitCode = {
  /** Completed, or pull request opened (unless `--until merged`); any other command succeeded. */
  ok: 0,
  /** The task failed, or the server refused the request. */
  failed: 1,
  cancelled: 2,
  needsAttention: 3,
  timeout: 4,
  /** Bad flags or arguments (sysexits EX_USAGE). */
  usage: 64,
  /** The server could not be reached (EX_UNAVAILABLE). */
  unavailable: 69,
  /** Missing, invalid or insufficient credentials (EX_NOPERM). */
  unauthorised: 77,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Any error that ends the command with a given exit code and a one-line message. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(ExitCode.usage, message);
  }
}

/** An error answer from the API, carrying its `error` and `code`. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly serverMessage: string,
    readonly details?: unknown[],
  ) {
    super(
      status === 401 || status === 403 ? ExitCode.unauthorised : ExitCode.failed,
      `${serverMessage} (${code})`,
    );
  }
}

export class UnreachableError extends CliError {
  constructor(server: string, cause: string) {
    super(ExitCode.unavailable, `cannot reach ${server}: ${cause}`);
  }
}
