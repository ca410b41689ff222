// One HTTP attempt of a delivery: POST with a timeout, redirects not followed (a 3xx is a failed
// attempt), and only a short excerpt of the response body read.
export type SendResult =
  | { ok: true; status: number; excerpt: string }
  | { ok: false; status: number | null; error: string; excerpt: string | null };

const EXCERPT_CHARS = 300;

export type OutboundRequest = { url: string; headers: Record<string, string>; body: string };

export async function sendWebhook(request: OutboundRequest, timeoutMs: number): Promise<SendResult> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "optio-webhooks", ...request.headers },
      body: request.body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { ok: false, status: null, error: describeFailure(error, timeoutMs), excerpt: null };
  }
  const excerpt = await readExcerpt(response);
  if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status, excerpt };
  const error =
    response.status >= 300 && response.status < 400
      ? `redirect (${response.status}) not followed`
      : `HTTP ${response.status}`;
  return { ok: false, status: response.status, error, excerpt };
}

/** Reads at most a few hundred characters of the body, then drops the rest of the stream. */
async function readExcerpt(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < EXCERPT_CHARS) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body cut short is still an answer; the status decides.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.slice(0, EXCERPT_CHARS);
}

// Duck-typed: fetch's errors come from Node's own realm, where `instanceof Error` can be false.
function describeFailure(error: unknown, timeoutMs: number): string {
  const failure = (error ?? {}) as { name?: string; message?: string; cause?: { code?: string } };
  if (failure.name === "TimeoutError" || failure.name === "AbortError")
    return `timed out after ${timeoutMs} ms`;
  if (failure.cause?.code) return `connection failed (${failure.cause.code})`;
  return typeof failure.message === "string" ? failure.message.slice(0, 200) : "request failed";
}
