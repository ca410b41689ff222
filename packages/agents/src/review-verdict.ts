// The review agent's verdict: its final answer ends with one line
//   OPTIO_REVIEW_VERDICT: approve | request_changes
// (the review prompt asks for it, see reviewPrompt in @optio/core). The text before that line is the
// review's body. An answer without the line has no verdict: the review run failed.
import { REVIEW_VERDICT_PREFIX } from "@optio/core";
import type { ReviewVerdict } from "@optio/contracts";

const MAX_BODY = 60_000;

export function parseReviewVerdict(text: string | null): ReviewVerdict | null {
  if (!text) return null;
  const lines = text.replace(/\r\n/g, "\n").trimEnd().split("\n");
  const last = lines.at(-1)?.trim() ?? "";
  if (!last.toUpperCase().startsWith(REVIEW_VERDICT_PREFIX)) return null;
  const word = last
    .slice(REVIEW_VERDICT_PREFIX.length)
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
  if (word !== "approve" && word !== "request_changes") return null;
  const body = lines.slice(0, -1).join("\n").trim().slice(0, MAX_BODY);
  return { verdict: word, body };
}
