import type { AgentType } from "@optio/contracts";
import { claudeAdapter } from "./claude.adapter";
import { codexAdapter } from "./codex.adapter";
import { shellAdapter } from "./shell.adapter";
import type { AgentAdapter } from "./types";

export * from "./types";
export { renderEvent } from "./render";
export { claudeAdapter, codexAdapter, shellAdapter };

const adapters: Record<AgentType, AgentAdapter> = {
  claude: claudeAdapter,
  codex: codexAdapter,
  shell: shellAdapter,
};

export function getAdapter(type: AgentType): AgentAdapter {
  return adapters[type];
}
export { parseReviewVerdict } from "./review-verdict";
export { continuationPrompt, type ContinuationInput } from "./continuation";
