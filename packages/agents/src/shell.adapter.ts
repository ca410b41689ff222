// `shell`: the prompt is a bash script, run as is. For deterministic jobs and tests. Every stdout
// line is text; the script's exit code is the run's.
import { emptySummary, type AgentAdapter, type AgentInput, type AgentParser } from "./types";
import { parseReviewVerdict } from "./review-verdict";

function command(input: AgentInput) {
  return { argv: ["bash", input.promptFile], stdin: "none" as const, env: {} };
}

function createParser(): AgentParser {
  const summary = emptySummary();
  return {
    line(line) {
      summary.resultText = line;
      return [{ type: "text", text: line }];
    },
    summary: () => ({ ...summary, review: parseReviewVerdict(summary.resultText) }),
  };
}

export const shellAdapter: AgentAdapter = {
  type: "shell",
  keyVariables: [],
  endpointVariable: null,
  sessionPaths: [],
  command,
  createParser,
};
