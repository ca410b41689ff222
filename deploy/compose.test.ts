/* eslint-disable @typescript-eslint/no-explicit-any -- docker-compose.yml is untyped YAML, read by path */
// docker-compose.yml's identities, offline: the committed NATS identities file is what the contracts'
// permissions render for Compose's runner ids, every password the services and the NATS server use
// comes from .env (no defaults), and the services reach Postgres as the role that owns the database.
// scripts/compose-smoke.mjs runs the whole file where Docker Compose and the images are at hand.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { natsAuthorizationConfig, optioNatsUsers } from "../packages/contracts/src/nats-permissions";

const root = path.resolve(__dirname, "..");
const compose = parse(readFileSync(path.join(root, "docker-compose.yml"), "utf8"), { merge: true }) as Record<
  string,
  any
>;
const authFile = readFileSync(path.join(root, "deploy/compose/nats-auth.conf"), "utf8");
const services = compose.services as Record<string, any>;
const runners = ["runner-1", "runner-2"];

/** The variable a `${NAME:?…}` / `${NAME:-…}` value reads, and whether it has a default. */
function variable(value: string): { name: string; required: boolean; defaulted: boolean } {
  const m = /^\$\{([A-Z0-9_]+)(:\?[^}]*|:-[^}]*)?\}/.exec(value.trim());
  if (!m) throw new Error(`not a variable: ${value}`);
  return {
    name: m[1]!,
    required: m[2]?.startsWith(":?") ?? false,
    defaulted: m[2]?.startsWith(":-") ?? false,
  };
}

describe("docker-compose.yml", () => {
  it("ships the NATS identities the contracts render for its runners (regenerate: compose-config.mjs nats-auth)", () => {
    const expected = natsAuthorizationConfig(
      optioNatsUsers({
        api: { env: "OPTIO_NATS_API_PASSWORD" },
        runners: [1, 2].map((n) => ({
          id: `compose-runner-${n}`,
          password: { env: `OPTIO_NATS_RUNNER_${n}_PASSWORD` },
        })),
      }),
    );
    expect(authFile.replace(/^#.*\n/gm, "")).toBe(expected);
    expect(authFile).not.toMatch(/password: "/); // no password in the file itself
  });

  it("gives the NATS server, the API and each runner their passwords from .env, without defaults", () => {
    const nats = services.nats;
    expect(nats.command).toEqual(
      expect.arrayContaining(["-c", "/etc/optio/nats-auth.conf", "-a", "127.0.0.1"]),
    );
    expect(nats.command).not.toContain("-m"); // no monitoring port
    // The passwords are the variables (quoted subjects like "$JS.API.INFO" are not).
    const referenced = [...authFile.matchAll(/password: \$([A-Z0-9_]+)/g)].map((m) => m[1]).sort();
    expect(Object.keys(nats.environment).sort()).toEqual(referenced);
    for (const [name, value] of Object.entries<string>(nats.environment))
      expect(variable(value)).toMatchObject({ name, required: true });

    expect(variable(services.api.environment.NATS_PASSWORD)).toMatchObject({
      name: "OPTIO_NATS_API_PASSWORD",
    });
    runners.forEach((runner, i) => {
      const env = services[runner].environment;
      expect(variable(env.NATS_PASSWORD)).toMatchObject({
        name: `OPTIO_NATS_RUNNER_${i + 1}_PASSWORD`,
        required: true,
      });
      expect(env.OPTIO_RUNNER_ID).toBe(`\${OPTIO_COMPOSE_RUNNER_PREFIX:-compose-runner}-${i + 1}`);
      expect(env.OPTIO_RUNNER_NETWORK).toBe("${OPTIO_RUNNER_NETWORK:-bridge}");
    });
  });

  it("has the services use Postgres as the role owning the database, and no password default", () => {
    const pg = services.postgres.environment;
    expect(pg.POSTGRES_APP_USER).toBe("optio");
    expect(variable(pg.POSTGRES_APP_PASSWORD)).toMatchObject({
      name: "OPTIO_COMPOSE_DB_PASSWORD",
      required: true,
    });
    expect(variable(pg.POSTGRES_PASSWORD)).toMatchObject({
      name: "OPTIO_COMPOSE_PG_PASSWORD",
      required: true,
    });
    for (const service of ["migrate", "api", ...runners]) {
      const url = services[service].environment.DATABASE_URL as string;
      expect(url).toMatch(/^postgresql:\/\/optio:\$\{OPTIO_COMPOSE_DB_PASSWORD:\?[^}]*\}@127\.0\.0\.1:/);
    }
    expect(readFileSync(path.join(root, "docker-compose.yml"), "utf8")).not.toMatch(/PASSWORD:-/);
  });
});
