// Telling "the database is unreachable" (a 503 the client may retry) from a bug (a 500): Postgres
// stopped, restarting, refusing connections, or a connection cut mid-query. The pg driver adapter
// wraps the driver's error, so the whole cause chain is read.

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
