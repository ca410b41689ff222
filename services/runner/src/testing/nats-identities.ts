// TEST ONLY. The identities of a test's own nats-server, with the permissions production uses
// (@optio/contracts nats-permissions): the API, a tool user for the test itself (the API's rights),
// and one user per runner id, added while the server runs the way an operator adds one (the
// authorization file rewritten, the server told to reload). Passwords are fresh per server.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { API_NATS_USER, natsAuthorizationConfig, optioNatsUsers, runnerNatsUser } from "@optio/contracts";
import type { NatsCredentials } from "@optio/core";

export const TOOL_NATS_USER = "optio-test";

const password = () => randomBytes(24).toString("base64url");

export class TestNatsIdentities {
  readonly api: NatsCredentials = { user: API_NATS_USER, pass: password() };
  readonly tool: NatsCredentials = { user: TOOL_NATS_USER, pass: password() };
  private readonly runners = new Map<string, string>();
  private readonly authFile: string;

  /** Writes `dir/nats.conf` (listening on 127.0.0.1:`port`, JetStream in `dir/js`) and its auth file. */
  constructor(
    private readonly dir: string,
    port: number,
  ) {
    this.authFile = path.join(dir, "auth.conf");
    writeFileSync(
      path.join(dir, "nats.conf"),
      [
        `listen: "127.0.0.1:${port}"`,
        `jetstream { store_dir: ${JSON.stringify(path.join(dir, "js"))} }`,
        `include "auth.conf"`,
        "",
      ].join("\n"),
    );
    this.write();
  }

  get configFile(): string {
    return path.join(this.dir, "nats.conf");
  }

  /** The runner's credentials, made on first use (then `reload` the server before connecting). */
  runner(runnerId: string): { credentials: NatsCredentials; added: boolean } {
    const known = this.runners.get(runnerId);
    if (known) return { credentials: { user: runnerNatsUser(runnerId), pass: known }, added: false };
    const pass = password();
    this.runners.set(runnerId, pass);
    this.write();
    return { credentials: { user: runnerNatsUser(runnerId), pass }, added: true };
  }

  private write(): void {
    const users = optioNatsUsers({
      api: this.api.pass,
      tools: [{ user: this.tool.user, password: this.tool.pass }],
      runners: [...this.runners].map(([id, pass]) => ({ id, password: pass })),
    });
    writeFileSync(this.authFile, natsAuthorizationConfig(users), { mode: 0o600 });
  }
}

/** Resolves once `credentials` are accepted by the server at `url` (after a start or a reload). */
export async function untilAccepted(url: string, credentials: NatsCredentials, tries = 100): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      const nc = await connect({ servers: url, reconnect: false, ...credentials });
      await nc.close();
      return;
    } catch (error) {
      if (i >= tries) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
