// TEST ONLY. What the runner's Docker tests share, set up before them and torn down after: a private
// NATS with production permissions, a git server on 127.0.0.1, a fake dispatcher playing the API's
// side of the wire on the tools' identity, the Docker driver and a Runner on its own identity, and
// the test agent image.
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import pino from "pino";
import { subjects, type RunSpec } from "@optio/contracts";
import type { RunnerConfig } from "../config";
import { DockerDriver } from "../docker.driver";
import type { Runner } from "../runner";
import { IMAGE_BUILD_TIMEOUT_MS, testAgentImage } from "./agent-image";
import { FakeDispatcher } from "./fake-dispatcher";
import { startGitServer, type GitServer } from "./git-server";
import { privateNats, type TestNats } from "./nats";
import { ensureRunsStream } from "./streams";
import { runnerConnection, startTestRunner } from "./test-runner";

export interface DockerRunnerWorld {
  nats: TestNats;
  /** The tools' connection (the fake dispatcher's, and the tests' own publishes). */
  nc: NatsConnection;
  git: GitServer;
  image: string;
  dispatcher: FakeDispatcher;
  driver: DockerDriver;
  runner: Runner;
  /** Queues a run and wakes the runner (as the API does when work becomes eligible). */
  dispatch(spec: RunSpec): void;
}

/** Registers the world's beforeAll/afterAll; its fields are there from the first test on. */
export function useDockerRunnerWorld(
  config: RunnerConfig,
  gitAuth: { username: string; password: string } | null,
): DockerRunnerWorld {
  const world = {
    dispatch(spec: RunSpec) {
      world.dispatcher.queue.push(spec);
      world.nc.publish(subjects.dispatchWakeup(), JSON.stringify({ time: new Date().toISOString() }));
    },
  } as DockerRunnerWorld;
  let runnerNc: NatsConnection;

  beforeAll(async () => {
    world.image = testAgentImage();
    [world.nats, world.git] = await Promise.all([privateNats(), startGitServer(gitAuth)]);
    world.nc = await connect({ servers: world.nats.url, ...world.nats.tool });
    runnerNc = await runnerConnection(world.nats, config.OPTIO_RUNNER_ID);
    await ensureRunsStream(world.nc);
    world.dispatcher = new FakeDispatcher(world.nc);
    world.driver = new DockerDriver({ config, logger: pino({ level: "silent" }) });
    world.runner = await startTestRunner({ config, nc: runnerNc, driver: world.driver });
  }, IMAGE_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await world.runner?.shutdown();
    world.dispatcher?.close();
    for (const unit of (await world.driver?.list()) ?? []) await world.driver.remove(unit.id);
    await runnerNc?.close();
    await world.nc?.close();
    await Promise.all([world.git?.close(), world.nats?.stop()]);
  });
  return world;
}
