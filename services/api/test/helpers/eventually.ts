/** Polls `read` until `ok` holds; fails naming `what` and the last value seen. */
export async function eventually<T>(
  what: string,
  read: () => Promise<T> | T,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${describe(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** JSON for the failure message; BigInt columns (sequence numbers) print as numbers. */
function describe(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}
