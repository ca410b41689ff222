// TEST ONLY. A stand-in for the two upstreams the setup validators probe, on 127.0.0.1: GitHub's
// GET /user (bearer token) and Anthropic's GET /v1/models (x-api-key). It accepts exactly the
// credentials it was given, answers `failWith` when set, and records what it received.
import http from "node:http";
import type { AddressInfo } from "node:net";

export type CredentialUpstream = {
  url: string;
  /** Authorization / x-api-key values received, in order. */
  readonly received: string[];
  /** Answer every request with this status (e.g. 500) instead of judging the credential. */
  failWith: number | null;
  close: () => Promise<void>;
};

export async function startCredentialUpstream(accepted: {
  githubToken: string;
  anthropicKey: string;
}): Promise<CredentialUpstream> {
  const received: string[] = [];
  const state = { failWith: null as number | null };
  const server = http.createServer((req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const credential = String(req.headers.authorization ?? req.headers["x-api-key"] ?? "");
    received.push(credential);
    if (state.failWith) return json(state.failWith, { message: "upstream trouble" });
    if (path === "/user")
      return credential === `Bearer ${accepted.githubToken}`
        ? json(200, { login: "octo", name: "Octo Cat" })
        : json(401, { message: "Bad credentials" });
    if (path === "/v1/models")
      return credential === accepted.anthropicKey && req.headers["anthropic-version"]
        ? json(200, { data: [], has_more: false })
        : json(401, { type: "error", error: { type: "authentication_error" } });
    return json(404, { message: "Not Found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const upstream: CredentialUpstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    get failWith() {
      return state.failWith;
    },
    set failWith(status) {
      state.failWith = status;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return upstream;
}
