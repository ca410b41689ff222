// TEST ONLY. Doubles of the model APIs the real agent CLIs call, on 127.0.0.1: see script.ts for
// the turns they play, http-double.ts for what they record.
export { startAnthropicDouble } from "./anthropic.double";
export { codexProviderArgs, codexProviderToml, startOpenAIDouble } from "./openai.double";
export type { ModelDouble, RecordedRequest, ToolResult } from "./http-double";
export {
  cutTurn,
  DEFAULT_USAGE,
  failTurn,
  finalTurn,
  shellTurn,
  toolTurn,
  writeTurn,
  type PlayOptions,
  type Turn,
  type Usage,
} from "./script";
