// Defence in depth for stored log lines: the runner already redacts the secrets it was given; the
// API also removes the secret values it knows and anything shaped like a well-known token.
const TOKEN_PATTERNS: RegExp[] = [
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  /\bsk-ant-[A-Za-z0-9_-]{20,}\b/g, // Anthropic
  /\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}\b/g, // OpenAI
  /\boptio_(?:pat|sess)_[A-Za-z0-9_-]{20,}\b/g, // our own credentials
  /(https?:\/\/)[^/\s:@]+:[^/\s@]+@/g, // credentials inside URLs
];

export class SecretRedactor {
  private readonly values: string[];

  /** `values`: secret strings to remove wherever they appear (shorter than 6 chars are ignored). */
  constructor(values: readonly string[] = []) {
    // Longest first, so a secret containing another is removed whole.
    this.values = [...new Set(values.filter((value) => value.length >= 6))].sort(
      (a, b) => b.length - a.length,
    );
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) out = out.split(value).join("[REDACTED]");
    for (const pattern of TOKEN_PATTERNS) {
      out = out.replace(pattern, (match, scheme?: string) =>
        typeof scheme === "string" && match.startsWith(scheme) ? `${scheme}[REDACTED]@` : "[REDACTED]",
      );
    }
    return out;
  }
}
