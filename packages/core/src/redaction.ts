// The one redactor for everything that leaves a run: the runner scrubs the values it was given before
// sending log lines, and the API scrubs every stored secret value again before storing them.

/** Values shorter than this are not redacted (they would blank out ordinary words). */
export const MIN_REDACTED_LENGTH = 8;

export const REDACTED = "[REDACTED]";

// Well-known token shapes, removed even when the value was never handed to us.
const TOKEN_PATTERNS: RegExp[] = [
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  /\bsk-ant-[A-Za-z0-9_-]{20,}\b/g, // Anthropic
  /\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}\b/g, // OpenAI
  /\boptio_(?:pat|sess)_[A-Za-z0-9_-]{20,}\b/g, // our own credentials
];
// Credentials inside URLs: keep the scheme and host, drop `user:password@`.
const URL_CREDENTIALS = /(https?:\/\/)[^/\s:@]+:[^/\s@]+@/g;

export class Redactor {
  private readonly values: readonly string[];

  /** `values`: secret strings to remove wherever they appear (shorter than MIN_REDACTED_LENGTH: ignored). */
  constructor(values: Iterable<string> = []) {
    // Longest first, so a secret containing another is removed whole.
    this.values = [...new Set(values)]
      .filter((value) => value.length >= MIN_REDACTED_LENGTH)
      .sort((a, b) => b.length - a.length);
  }

  /** How many values this redactor removes (token shapes not counted). */
  get size(): number {
    return this.values.length;
  }

  /** A redactor that also removes `values`. */
  with(values: Iterable<string>): Redactor {
    return new Redactor([...this.values, ...values]);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, REDACTED);
    return out.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
  }

  /** Redacts every string (keys included) inside a JSON-like value. */
  redactDeep<T>(value: T): T {
    if (typeof value === "string") return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((item: unknown) => this.redactDeep(item)) as T;
    if (value !== null && typeof value === "object")
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [this.redact(key), this.redactDeep(item)]),
      ) as T;
    return value;
  }
}
