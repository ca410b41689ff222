// The Docker engine's side of workspace snapshots (workspace-snapshots.ts): a build container of the
// run's image clones the mirror into the workspace and checks out the commit; the container is then
// committed as an image of its own, labelled with what it holds, and removed.
import { createHash, randomUUID } from "node:crypto";
import type Docker from "dockerode";
import type { RunnerConfig } from "./config";
import { buildSnapshotBuildSpec } from "./container-spec";
import { CACHE_MOUNT } from "./repo-cache";
import { LABELS, type RunPlan } from "./run-plan";
import type { SnapshotEngine, SnapshotImage, SnapshotTarget } from "./workspace-snapshots";

/** Snapshot images are named optio-workspace:<hash of runner and target>. */
const REPOSITORY = "optio-workspace";
const LABEL = {
  runner: "optio.workspace.runner",
  key: "optio.workspace.key",
  commit: "optio.workspace.commit",
  base: "optio.workspace.base",
} as const;

/**
 * The clone a run would make from the mirror (optio-clone's clone_from), HEAD detached at the commit
 * so that a run can move its branch. Then, a second later, the index is refreshed: files written in
 * the index's own second are "racily clean" to git, which would re-read all of them in the run.
 */
const BUILD_SCRIPT = `set -eu
mirror=$1 branch=$2 commit=$3 dest=$4
git config --global --replace-all --fixed-value safe.directory "$mirror" "$mirror"
git clone --quiet --no-checkout --single-branch --branch "$branch" --shared -- "$mirror" "$dest"
git -C "$dest" checkout --quiet --detach "$commit"
sleep 1
git -C "$dest" update-index -q --refresh`;

/** A build that takes longer is stopped (and tried again after a later run). */
const BUILD_TIMEOUT_MS = 10 * 60_000;

interface EngineError {
  statusCode?: number;
}
const statusOf = (error: unknown) => (error as EngineError)?.statusCode;

export class DockerSnapshots implements SnapshotEngine {
  constructor(
    private readonly opts: {
      docker: Docker;
      config: RunnerConfig;
      /** The repository's directory in a run container (optio-run's REPO). */
      dest: string;
      limits: RunPlan["limits"];
    },
  ) {}

  async imageId(image: string): Promise<string | null> {
    try {
      return (await this.opts.docker.getImage(image).inspect()).Id;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async build(target: SnapshotTarget, key: string, commit: string, base: string): Promise<SnapshotImage> {
    const { docker, config } = this.opts;
    const runner = config.OPTIO_RUNNER_ID;
    const spec = buildSnapshotBuildSpec(
      {
        image: base,
        repoMirror: target.mirror,
        name: `optio-snapshot-${runner}-${randomUUID().slice(0, 8)}`,
        // A runner's own containers: one that restarts removes a build left behind.
        labels: { [LABELS.managed]: "true", [LABELS.runner]: runner },
      },
      this.opts.limits,
      BUILD_SCRIPT,
      [`${CACHE_MOUNT}/${target.mirror}`, target.branch, commit, this.opts.dest],
      config,
    );
    const container = await docker.createContainer(spec);
    try {
      await container.start();
      const timer = setTimeout(() => void container.kill().catch(() => {}), BUILD_TIMEOUT_MS);
      const { StatusCode } = await container.wait().finally(() => clearTimeout(timer));
      if (StatusCode !== 0) throw new Error(`the snapshot's build exited with ${StatusCode}`);
      const baseConfig = (await docker.getImage(base).inspect()).Config;
      const tag = createHash("sha256").update(`${runner}\n${key}`).digest("hex").slice(0, 32);
      // The build's entrypoint was its script: the image gets back its base's.
      const { Id } = await container.commit({
        _query: { container: container.id, repo: REPOSITORY, tag },
        _body: {
          Entrypoint: baseConfig.Entrypoint,
          Cmd: baseConfig.Cmd,
          Labels: { [LABEL.runner]: runner, [LABEL.key]: key, [LABEL.commit]: commit, [LABEL.base]: base },
        },
      });
      return { id: Id, key, commit, base };
    } finally {
      await container.remove({ force: true }).catch(() => {});
    }
  }

  async list(): Promise<SnapshotImage[]> {
    const filters = JSON.stringify({ label: [`${LABEL.runner}=${this.opts.config.OPTIO_RUNNER_ID}`] });
    const images = await this.opts.docker.listImages({ filters });
    return images
      .sort((a, b) => b.Created - a.Created)
      .map((image) => ({
        id: image.Id,
        key: image.Labels?.[LABEL.key] ?? "",
        commit: image.Labels?.[LABEL.commit] ?? "",
        base: image.Labels?.[LABEL.base] ?? "",
      }));
  }

  async remove(id: string): Promise<boolean> {
    try {
      await this.opts.docker.getImage(id).remove();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return true;
      if (statusOf(error) === 409) return false; // a container still uses it
      throw error;
    }
  }
}
