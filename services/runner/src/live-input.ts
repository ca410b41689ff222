// A running agent's stdin, for agents that read messages while they run (an adapter with `input`,
// its command's stdin `stream`): the prompt went first (the run's prompt file), a person's messages
// follow, and the input is closed once the agent has answered everything it was given. Until then
// the CLI waits for more; once it is closed, a message is no longer delivered (it waits for the
// task's next run).
//
// "Answered everything": Claude Code echoes each message when it takes it in (input_taken) and ends
// each turn with a result (answered). A message sent while a tool runs joins the current turn and
// gets no result of its own, so results alone undercount: the input closes at a result once every
// message written has been taken. An agent that echoes nothing closes once it answered as many
// turns as it was given messages.
import type { AgentEvent, AgentLiveInput } from "@optio/agents";

export type Delivery = { delivered: boolean; interrupted: boolean; reason: string | null };

export interface LiveInputOptions {
  input: AgentLiveInput;
  write: (data: string) => Promise<void>;
  endInput: () => void;
}

export class LiveInput {
  /** Messages written to the agent, the prompt first. */
  private written = 1;
  private taken = 0;
  private answered = 0;
  private closed = false;
  private exited = false;

  constructor(private readonly opts: LiveInputOptions) {}

  /** One of the agent's events: counts what it took and answered, and closes the input when done. */
  observe(event: AgentEvent): void {
    if (event.type === "input_taken") this.taken++;
    if (event.type !== "answered") return;
    this.answered++;
    if (this.taken >= this.written || this.answered >= this.written) this.close();
  }

  /** Writes a message (after an interrupt of the current turn, if asked); resolves once written. */
  async send(text: string, options: { interrupt: boolean; id: string }): Promise<Delivery> {
    if (this.closed) {
      const reason = this.exited ? "the run has ended" : "the agent had answered everything";
      return { delivered: false, interrupted: false, reason };
    }
    // Counted before the write: an answer that arrives meanwhile must not close the input.
    this.written++;
    const { input, write } = this.opts;
    try {
      await write((options.interrupt ? input.interrupt(options.id) : "") + input.message(text));
    } catch (error) {
      this.written--;
      return { delivered: false, interrupted: false, reason: `not written: ${(error as Error).message}` };
    }
    return { delivered: true, interrupted: options.interrupt, reason: null };
  }

  /** Closes the agent's stdin (it ends once it has answered). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.endInput();
  }

  /** The run exited: nothing more is delivered (its stdin is gone with it). */
  ended(): void {
    this.closed = true;
    this.exited = true;
  }
}
