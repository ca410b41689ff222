/** Polls `read` until `ok` holds; fails naming `what` and the last value seen (or the read's last error). */
export async function eventually<T>(
  what: string,
  read: () => Promise<T> | T,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T;
    try {
      value = await read();
    } catch (error) {
      // A read that fails (a new database connection slower than its timeout on a loaded machine)
      // is tried again like one that is not there yet; the last failure is reported at the deadline.
      if (Date.now() > deadline) throw new Error(`${what}: the read still fails`, { cause: error });
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${describe(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** JSON for the failure message; BigInt columns (sequence numbers) print as numbers. */
function describe(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}
