// Classifying database errors for the HTTP layer: "the database is unreachable" (a 503 the client
// may retry: Postgres stopped, restarting, refusing connections, a connection cut mid-query) and
// "the database refused a value" (a 400: SQLSTATE class 22, e.g. a NUL byte in a text field), apart
// from bugs (500). Prisma and the pg driver adapter wrap the driver's error: the whole chain is read.

/** SQLSTATE classes and codes of a database that is down or going down. */
const UNAVAILABLE_STATES = /^(08|57P0[1-3]|53300)/;
const UNAVAILABLE_MESSAGES =
  /ECONNREFUSED|ECONNRESET|EPIPE|Connection terminated|connection timeout|timeout exceeded when trying to connect|the database system is (starting up|shutting down)|terminating connection due to administrator command|Can't reach database server|Server has closed the connection|Client has encountered a connection error|DatabaseNotReachable/i;

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 5) return false;
  const e = err as Record<string, unknown>;
  for (const key of ["code", "originalCode"]) {
    const code = e[key];
    if (typeof code === "string" && (UNAVAILABLE_STATES.test(code) || UNAVAILABLE_MESSAGES.test(code)))
      return true;
  }
  for (const key of ["message", "originalMessage", "kind"]) {
    const text = e[key];
    if (typeof text === "string" && UNAVAILABLE_MESSAGES.test(text)) return true;
  }
  return isDatabaseUnavailable(e.cause, depth + 1);
}

/** The SQLSTATE codes found anywhere in the error's chain (code, originalCode, meta.code, message, cause). */
function sqlStates(err: unknown, depth = 0): string[] {
  if (typeof err !== "object" || err === null || depth > 5) return [];
  const e = err as Record<string, unknown>;
  const meta = e.meta as Record<string, unknown> | undefined;
  // A failed $queryRaw carries it only in its message: "Raw query failed. Code: `22021`. …".
  const inMessage = typeof e.message === "string" ? /Code: `([0-9A-Z]{5})`/.exec(e.message)?.[1] : undefined;
  const own = [e.code, e.originalCode, meta?.code, inMessage].filter(
    (code): code is string => typeof code === "string" && /^[0-9A-Z]{5}$/.test(code),
  );
  return [...own, ...sqlStates(e.cause, depth + 1)];
}

/** A value the database cannot store (SQLSTATE class 22: data exception). */
export function isRefusedValue(err: unknown): boolean {
  return sqlStates(err).some((code) => code.startsWith("22"));
}
