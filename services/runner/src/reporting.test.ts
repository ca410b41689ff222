import pino from "pino";
import { RunReport } from "@optio/contracts";
import { LogBatcher } from "./log-batcher";
import { RunReporter } from "./run-reporter";

const ids = {
  runId: "7d1f0a52-3c1e-4b8e-9a51-2f1d7a3c9e01",
  taskId: "0b6c2f8e-91aa-4c5e-8d3f-6a7b8c9d0e1f",
  attempt: 3,
  runnerId: "r1",
};
const logger = pino({ level: "silent" });

describe("RunReporter", () => {
  it("numbers reports, keeps order and retries a failed publish with the same message id", async () => {
    const stored: { subject: string; msgId: string; report: RunReport }[] = [];
    const tried: string[] = [];
    let failures = 2;
    const reporter = new RunReporter({
      ids,
      logger,
      sink: async (subject, payload, msgId) => {
        tried.push(msgId);
        if (failures-- > 0) throw new Error("nats down");
        stored.push({ subject, msgId, report: RunReport.parse(JSON.parse(payload)) });
      },
    });
    void reporter.send({ kind: "started", containerId: "c1", driver: "docker", image: "img" });
    void reporter.send({ kind: "heartbeat" });
    await reporter.send({
      kind: "exited",
      exitCode: 0,
      reason: "completed",
      oomKilled: false,
      durationMs: 5,
      error: null,
    });
    // The ids end in a nonce of this reporter's, the same for every report and retry.
    const nonce = stored[0]!.msgId.split(":").at(-1)!;
    expect(nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect(stored.map((s) => [s.subject, s.msgId, s.report.seq])).toEqual([
      [`optio.runner.r1.run.${ids.runId}.started`, `${ids.runId}:3:1:${nonce}`, 1],
      [`optio.runner.r1.run.${ids.runId}.heartbeat`, `${ids.runId}:3:2:${nonce}`, 2],
      [`optio.runner.r1.run.${ids.runId}.exited`, `${ids.runId}:3:3:${nonce}`, 3],
    ]);
    expect(tried.slice(0, 3)).toEqual([stored[0]!.msgId, stored[0]!.msgId, stored[0]!.msgId]);
  });

  it("uses message ids no other reporter (or runner) can predict", async () => {
    const ids2: string[] = [];
    for (let i = 0; i < 2; i++)
      await new RunReporter({ ids, logger, sink: async (_s, _p, msgId) => void ids2.push(msgId) }).send({
        kind: "heartbeat",
      });
    expect(ids2[0]).not.toBe(ids2[1]);
  });

  it("drops an invalid report without a gap in the sequence", async () => {
    const seqs: number[] = [];
    const reporter = new RunReporter({
      ids,
      logger,
      sink: async (_s, payload) => void seqs.push(JSON.parse(payload).seq),
    });
    void reporter.send({ kind: "log", lines: [] }); // min 1 line: invalid
    await reporter.send({ kind: "heartbeat" });
    expect(seqs).toEqual([1]);
  });

  it("stops retrying once abandoned", async () => {
    const reporter = new RunReporter({ ids, logger, sink: async () => Promise.reject(new Error("down")) });
    const pending = reporter.send({ kind: "heartbeat" });
    reporter.abandon();
    await expect(pending).resolves.toBeUndefined();
  });
});

describe("LogBatcher", () => {
  const line = (content = "x") => ({
    stream: "stdout" as const,
    type: "stdout" as const,
    time: new Date().toISOString(),
    content,
  });

  it("sends a line after a quiet period at once, then batches what follows", async () => {
    const batches: number[][] = [];
    const batcher = new LogBatcher({
      maxLines: 3,
      maxDelayMs: 30,
      flush: (lines) => batches.push(lines.map((l) => l.n)),
    });
    batcher.add(line());
    expect(batches).toEqual([[1]]);
    batcher.add(line());
    batcher.add(line());
    expect(batches).toEqual([[1]]);
    await new Promise((r) => setTimeout(r, 50));
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it("flushes on line count and byte size, numbering lines from 1", () => {
    const batches: number[][] = [];
    const batcher = new LogBatcher({
      maxLines: 3,
      maxDelayMs: 10_000,
      maxBytes: 1000,
      flush: (lines) => batches.push(lines.map((l) => l.n)),
    });
    for (let i = 0; i < 4; i++) batcher.add(line());
    expect(batches).toEqual([[1], [2, 3, 4]]);
    batcher.add(line("y".repeat(2000)));
    expect(batches.at(-1)).toEqual([5]);
    batcher.add(line());
    batcher.flush();
    expect(batches.at(-1)).toEqual([6]);
    expect(batcher.count).toBe(6);
  });
});
