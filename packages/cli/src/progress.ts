// Progress of a task being waited on. A terminal gets one redrawn status line (state, elapsed, run,
// last log line); CI logs get plain timestamped lines. Progress goes to stderr; followed log lines go
// to stdout (stderr with --json, which keeps stdout for the one result document).
import { paint, stateColour, type Output } from "./output";

const REDRAW_MS = 1_000;

export class Progress {
  private state = "…";
  private run: string | undefined;
  private lastLine = "";
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(
    private readonly out: Output,
    private readonly taskId: string,
    private readonly follow: boolean,
  ) {
    if (out.live) this.timer = setInterval(() => this.draw(), REDRAW_MS);
  }

  setState(state: string, run?: string): void {
    if (state === this.state && run === this.run) return;
    this.state = state;
    if (run) this.run = run;
    if (this.out.live) this.draw();
    else this.line(`task ${this.taskId} ${state}${this.run ? ` (run ${this.run})` : ""}`);
  }

  log(text: string): void {
    this.lastLine = text;
    if (!this.follow) return;
    this.clear();
    const write = this.out.json ? this.out.stderr : this.out.stdout;
    for (const line of text.split("\n")) write(this.out.live ? line : `${timestamp()} | ${line}`);
    this.draw();
  }

  note(message: string): void {
    if (this.out.live) {
      this.clear();
      this.out.stderr(paint(this.out, "dim", message));
      this.draw();
    } else this.line(message);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }

  private line(message: string): void {
    this.out.stderr(`${timestamp()} ${message}`);
  }

  private clear(): void {
    if (this.out.live && this.drawn) process.stderr.write("\r\x1b[K");
    this.drawn = false;
  }

  private draw(): void {
    if (!this.out.live) return;
    const elapsed = formatDuration(Date.now() - this.started);
    const parts = [
      paint(this.out, stateColour(this.state), this.state.padEnd(15)),
      elapsed.padStart(7),
      this.run ? `run ${this.run}` : "",
    ].filter(Boolean);
    const width = process.stderr.columns ?? 100;
    const head = parts.join("  ");
    const room = width - visibleLength(head) - 5;
    const tail = this.lastLine && room > 10 ? `  │ ${this.lastLine.replace(/\s+/g, " ").slice(0, room)}` : "";
    process.stderr.write(`\r\x1b[K${head}${paint(this.out, "dim", tail)}`);
    this.drawn = true;
  }
}

export function timestamp(): string {
  return new Date().toISOString();
}

export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const m = Math.floor(seconds / 60);
  const h = Math.floor(m / 60);
  if (h > 0) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${seconds}s`;
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "").length;
}
