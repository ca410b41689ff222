import { claudeAdapter, type AgentEvent } from "@optio/agents";
import { LiveInput } from "./live-input";

function live(options: { failWrites?: boolean } = {}) {
  const written: string[] = [];
  let ended = 0;
  const input = new LiveInput({
    input: claudeAdapter.input!,
    write: async (data) => {
      if (options.failWrites) throw new Error("EPIPE");
      written.push(data);
    },
    endInput: () => ended++,
  });
  return { input, written, ended: () => ended };
}

const took = (text = "m"): AgentEvent => ({ type: "input_taken", text });
const answered: AgentEvent = { type: "answered", isError: false, interrupted: false };

describe("LiveInput", () => {
  it("closes the agent's input once it answered the prompt, when no message came", async () => {
    const { input, ended } = live();
    input.observe(took("the prompt"));
    expect(ended()).toBe(0);
    input.observe(answered);
    expect(ended()).toBe(1);
    expect(await input.send("too late", { interrupt: false, id: "m1" })).toEqual({
      delivered: false,
      interrupted: false,
      reason: "the agent had answered everything",
    });
  });

  it("a message queued behind the current turn keeps the input open until its own answer", async () => {
    const { input, written, ended } = live();
    input.observe(took("the prompt"));
    expect(await input.send("Use tabs", { interrupt: false, id: "m1" })).toMatchObject({ delivered: true });
    expect(JSON.parse(written[0]!)).toMatchObject({ type: "user" });
    input.observe(answered); // the prompt's turn
    expect(ended()).toBe(0);
    input.observe(took("Use tabs"));
    input.observe(answered);
    expect(ended()).toBe(1);
  });

  it("a message that joined the running turn (no result of its own) closes at that turn's answer", async () => {
    const { input, ended } = live();
    input.observe(took("the prompt"));
    await input.send("also this", { interrupt: false, id: "m1" });
    input.observe(took("also this"));
    input.observe(answered);
    expect(ended()).toBe(1);
  });

  it("an interrupt goes before its message; the interrupted turn's answer does not close the input", async () => {
    const { input, written, ended } = live();
    input.observe(took("the prompt"));
    expect(await input.send("Stop, do X", { interrupt: true, id: "m1" })).toEqual({
      delivered: true,
      interrupted: true,
      reason: null,
    });
    const lines = written
      .join("")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.type)).toEqual(["control_request", "user"]);
    expect(lines[0].request_id).toBe("m1");
    input.observe({ type: "answered", isError: true, interrupted: true });
    expect(ended()).toBe(0);
    input.observe(took("Stop, do X"));
    input.observe(answered);
    expect(ended()).toBe(1);
  });

  it("an agent that echoes nothing closes once it answered as many turns as it was given", async () => {
    const { input, ended } = live();
    await input.send("second", { interrupt: false, id: "m1" });
    input.observe(answered);
    expect(ended()).toBe(0);
    input.observe(answered);
    expect(ended()).toBe(1);
  });

  it("a failed write is not delivered and not waited for; nothing is delivered after the run ended", async () => {
    const failing = live({ failWrites: true });
    expect(await failing.input.send("x", { interrupt: false, id: "m1" })).toEqual({
      delivered: false,
      interrupted: false,
      reason: "not written: EPIPE",
    });
    failing.input.observe(took());
    failing.input.observe(answered);
    expect(failing.ended()).toBe(1);

    const { input, ended } = live();
    input.ended();
    expect(await input.send("x", { interrupt: false, id: "m2" })).toMatchObject({
      delivered: false,
      reason: "the run has ended",
    });
    expect(ended()).toBe(0);
  });
});
