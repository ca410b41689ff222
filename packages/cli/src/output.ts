// Where output goes: results on stdout (one JSON document with --json), progress on stderr.
// On a terminal: colours and a live status line; in CI (no TTY, or CI=true): plain timestamped lines.
import type { CliEnv } from "./config";

export type Output = {
  json: boolean;
  /** A live terminal: a redrawn status line and colours. */
  live: boolean;
  color: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
};

export function createOutput(json: boolean, env: CliEnv): Output {
  const ci = env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0";
  const live = Boolean(process.stderr.isTTY) && !ci;
  return {
    json,
    live,
    color: live && !env.NO_COLOR,
    stdout: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  };
}

/** Prints a result: the value as JSON with --json, else the human rendering. */
export function printResult(out: Output, value: unknown, human: () => string): void {
  out.stdout(out.json ? JSON.stringify(value, null, 2) : human());
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export function paint(out: Output, colour: Colour, text: string): string {
  return out.color ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

export function stateColour(state: string): Colour {
  if (state === "completed" || state === "pr_opened") return "green";
  if (state === "failed") return "red";
  if (state === "cancelled") return "dim";
  if (state === "needs_attention") return "yellow";
  if (state === "running" || state === "provisioning") return "cyan";
  return "blue";
}

/** Fixed-width columns for lists. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
