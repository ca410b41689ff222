// A hostile agent, with real parts: a shell task whose script probes what its container can reach.
// Test runs use host networking (to reach the git server on 127.0.0.1), so NATS and Postgres are
// reachable from the container: what must hold is that the container holds no credential and that
// anonymous, guessed and leaked-runner access gets nothing (the probe saw a claim reply
// carrying GITHUB_TOKEN). The agent speaks NATS and the Postgres startup packet by hand (bash's
// /dev/tcp: the image has no nc); the host side checks the same with the real clients. Last, a
// container on a user-defined bridge network (npm start's kind) cannot reach 127.0.0.1 at all.
import { execFileSync } from "node:child_process";
import pg from "pg";
import { eventually, startE2eStack, type E2eStack } from "./stack";

jest.setTimeout(180_000);

let stack: E2eStack;
let leaked: { user: string; pass: string };
beforeAll(async () => {
  stack = await startE2eStack();
  await stack.startRunner("sandbox-a");
  // A runner identity whose password leaked to the agent (no runner uses it).
  leaked = await stack.nats.addRunner("sandbox-leaked");
}, 15 * 60_000);
afterAll(() => stack.close());

const auth = () => ({ authorization: `Bearer ${stack.token}` });
const natsPort = () => new URL(stack.nats.url).port;
const pgUrl = () => new URL(process.env.OPTIO_TEST_ADMIN_DB_URL!);

/** The agent's script: every probe prints `<label>: <what the server answered>`. */
function hostileScript(): string {
  const creds = JSON.stringify({ verbose: false, user: leaked.user, pass: leaked.pass });
  return String.raw`
set -u
nats_try() { # label, CONNECT options, commands once connected
  local label=$1 line
  if ! exec 3<>/dev/tcp/127.0.0.1/@NATS_PORT@; then echo "$label: no connection"; return; fi
  IFS= read -r -t 3 line <&3 || true  # INFO
  printf 'CONNECT %s\r\n' "$2" >&3
  # A refused CONNECT is answered at once, then the server hangs up.
  if IFS= read -r -t 1 line <&3; then echo "$label: $(printf %s "$line" | tr -d '\r')"; exec 3>&-; return; fi
  printf '%b' "$3" >&3
  printf 'PING\r\n' >&3
  while IFS= read -r -t 3 line <&3; do
    line=$(printf %s "$line" | tr -d '\r'); echo "$label: $line"; [ "$line" = PONG ] && break
  done
  exec 3>&-
}
pg_try() { # label, user, database: the first 9 bytes of the answer to a startup packet
  local label=$1 user=$2 db=$3
  if ! exec 4<>/dev/tcp/127.0.0.1/@PG_PORT@; then echo "$label: no connection"; return; fi
  local len=$(( 25 + $(printf %s "$user$db" | wc -c) ))
  printf '%b' "\\x00\\x00\\x00\\x$(printf %02x $len)\\x00\\x03\\x00\\x00user\\x00$user\\x00database\\x00$db\\x00\\x00" >&4
  echo "$label: $(head -c 9 <&4 | od -An -tx1 | tr -s ' ')"
  exec 4>&-
}
nats_try "nats anonymous" '{"verbose":false}' ''
nats_try "nats guessed api" '{"verbose":false,"user":"optio-api","pass":"optio"}' ''
nats_try "nats guessed runner" '{"verbose":false,"user":"runner-sandbox-a","pass":"sandbox-a"}' ''
nats_try "nats leaked runner" '@LEAKED@' 'SUB > 1\r\nSUB _INBOX.> 2\r\nSUB _INBOX.runner.sandbox-a.> 3\r\nSUB optio.runner.sandbox-a.run.*.cancel 4\r\nPUB optio.runner.sandbox-a.claim 2\r\n{}\r\n'
pg_try "pg postgres" postgres postgres
pg_try "pg test role" @PG_ROLE@ postgres
echo "env: $(env | sort | tr '\n' ' ')"
echo probed > probe.txt
`
    .replaceAll("@NATS_PORT@", natsPort())
    .replaceAll("@PG_PORT@", pgUrl().port)
    .replaceAll("@PG_ROLE@", pgUrl().username)
    .replaceAll("@LEAKED@", creds);
}

describe("a hostile agent in a run's container", () => {
  it("gets nothing from NATS or Postgres without credentials, holds none, and a leaked runner identity reads nothing", async () => {
    stack.git.createRepo("sandbox");
    const created = await stack.ctx.http
      .post("/api/tasks")
      .set(auth())
      .send({
        title: "Probe",
        repoUrl: stack.git.url("sandbox"),
        agentType: "shell",
        prompt: hostileScript(),
      })
      .expect(201);
    const taskId = created.body.task.id as string;
    const done = await eventually(
      "finished",
      () => stack.ctx.prisma.task.findUniqueOrThrow({ where: { id: taskId } }),
      (t) => ["completed", "failed", "needs_attention"].includes(t.state),
      90_000,
    );
    const logs = await stack.ctx.http.get(`/api/tasks/${taskId}/logs?limit=1000`).set(auth()).expect(200);
    const lines: string[] = logs.body.logs.map((l: { content: string }) => l.content);
    const said = (label: string) =>
      lines.filter((l) => l.startsWith(`${label}: `)).map((l) => l.slice(label.length + 2));
    expect(done.state).toBe("completed");

    expect(said("nats anonymous")).toEqual(["-ERR 'Authorization Violation'"]);
    expect(said("nats guessed api")).toEqual(["-ERR 'Authorization Violation'"]);
    expect(said("nats guessed runner")).toEqual(["-ERR 'Authorization Violation'"]);
    expect(said("nats leaked runner")).toEqual([
      `-ERR 'Permissions Violation for Subscription to ">"'`,
      `-ERR 'Permissions Violation for Subscription to "_INBOX.>"'`,
      `-ERR 'Permissions Violation for Subscription to "_INBOX.runner.sandbox-a.>"'`,
      `-ERR 'Permissions Violation for Subscription to "optio.runner.sandbox-a.run.*.cancel"'`,
      `-ERR 'Permissions Violation for Publish to "optio.runner.sandbox-a.claim"'`,
      "PONG",
    ]);
    // 'R' + length + 10: AuthenticationSASL, a password is wanted (trust would answer 0).
    for (const label of ["pg postgres", "pg test role"])
      expect({ label, answer: said(label) }).toEqual({ label, answer: [" 52 00 00 00 17 00 00 00 0a"] });

    // The container holds no credential: none of the stack's passwords is in its environment or logs.
    const runnerPass = (await stack.nats.addRunner("sandbox-a")).pass;
    const text = lines.join("\n");
    expect(said("env")).toHaveLength(1);
    for (const [name, secret] of Object.entries({
      api: stack.nats.api.pass,
      tool: stack.nats.tool.pass,
      runner: runnerPass,
      postgres: decodeURIComponent(pgUrl().password),
    }))
      expect({ name, leaked: text.includes(secret) }).toEqual({ name, leaked: false });
    expect(said("env")[0]).not.toMatch(/NATS_|DATABASE_URL|PASSWORD/);
  });

  it("is refused by Postgres without the role's password, and the API's role is no superuser (from the host)", async () => {
    const url = pgUrl();
    const tryConnect = async (user: string, password?: string) => {
      const client = new pg.Client({
        host: "127.0.0.1",
        port: Number(url.port),
        database: "postgres",
        user,
        password,
      });
      try {
        await client.connect();
        return "connected";
      } catch (error) {
        return (error as { code?: string }).code ?? (error as Error).message;
      } finally {
        await client.end().catch(() => {});
      }
    };
    for (const [user, password] of [
      ["postgres", undefined],
      ["postgres", "postgres"],
      ["postgres", ""],
      [url.username, undefined],
      [url.username, "optio"],
      [url.username, url.username],
      ["optio", "optio"],
    ] as const)
      expect({ user, password, outcome: await tryConnect(user, password) }).toEqual({
        user,
        password,
        outcome: password ? "28P01" : expect.stringMatching(/28P01|password/i), // invalid_password / none sent
      });

    const api = new pg.Client({ connectionString: stack.ctx.databaseUrl });
    await api.connect();
    const { rows } = await api.query(
      "SELECT current_user AS role, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user",
    );
    await api.end();
    expect(rows).toEqual([{ role: url.username, rolsuper: false, rolcreaterole: false }]);
  });

  it("on a user-defined bridge network (npm start's), cannot reach the host's 127.0.0.1 at all", () => {
    // --internal: the test's own namespace, no route out; the property is the same for npm start's bridge.
    const network = `optio-test-sandbox-${process.pid}`;
    execFileSync("docker", ["network", "create", "--internal", network], { stdio: "ignore" });
    try {
      const probe = [natsPort(), pgUrl().port]
        .map(
          (port) =>
            `if timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}' 2>/dev/null; then echo ${port} open; else echo ${port} refused; fi`,
        )
        .join("; ");
      const out = execFileSync(
        "docker",
        [
          "run",
          "--rm",
          "--network",
          network,
          "--user",
          "1000:1000",
          "--entrypoint",
          "bash",
          stack.image,
          "-c",
          probe,
        ],
        { encoding: "utf8" },
      );
      expect(out.trim().split("\n")).toEqual([`${natsPort()} refused`, `${pgUrl().port} refused`]);
    } finally {
      execFileSync("docker", ["network", "rm", network], { stdio: "ignore" });
    }
  });
});
