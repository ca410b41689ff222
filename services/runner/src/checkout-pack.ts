// A mirror's checkout pack on disk: the objects of the run's branch tip once more, uncompressed and
// whole, in a pack of their own that git searches first (the newest). A run's checkout then copies
// bytes instead of inflating them. Every object in it is in the mirror's history too, so a missing
// or stale checkout pack only makes a checkout slower, never wrong.
//
// A replaced pack is not removed at once but listed as retired: a run's clone borrows the mirror's
// objects through alternates for as long as the run lasts, and may have opened it. RepoCache
// removes retired packs (removeRetiredPacks) only when no run holds the mirror.
import type { ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** In a mirror: "<commit> <pack hash>" of its checkout pack. */
const RECORD = "optio-checkout-pack";
/** In a mirror: the hashes of replaced checkout packs not yet removed, one a line. */
const RETIRED = "optio-checkout-pack-retired";
/** Background work yields the CPU to runs (a nice value). */
const BACKGROUND_PRIORITY = 10;

/** How the pack is made: git in the mirror, as the cache runs it (its environment, no credential). */
export interface MirrorGit {
  /** git with these arguments; its stdout. */
  output(args: string[]): Promise<string>;
  /** git with these arguments as a child with piped stdin and stdout. */
  spawn(args: string[]): ChildProcess;
}

function readRecord(mirror: string): { commit?: string; pack?: string } {
  const file = path.join(mirror, RECORD);
  if (!existsSync(file)) return {};
  const [commit, pack] = readFileSync(file, "utf8").trim().split(" ");
  return { commit, pack };
}

/** Packs `branch`'s tip unless its checkout pack is already that commit's; retires the one it replaces. */
export async function refreshCheckoutPack(git: MirrorGit, mirror: string, branch: string): Promise<void> {
  const previous = readRecord(mirror);
  const tip = (
    await git.output(["-C", mirror, "rev-parse", "--verify", `refs/heads/${branch}^{commit}`])
  ).trim();
  if (tip === previous.commit) return;
  const pack = await writeTreePack(git, mirror, tip);
  // Listed before the record moves on: a crash in between leaves the current pack listed, which
  // removal skips.
  if (previous.pack && previous.pack !== pack)
    appendFileSync(path.join(mirror, RETIRED), `${previous.pack}\n`);
  const record = path.join(mirror, RECORD);
  writeFileSync(`${record}.tmp`, `${tip} ${pack}`);
  renameSync(`${record}.tmp`, record);
}

/** Removes the retired checkout packs (not the current one). Synchronous: no hold can start meanwhile. */
export function removeRetiredPacks(mirror: string): void {
  const list = path.join(mirror, RETIRED);
  if (!existsSync(list)) return;
  const { pack: current } = readRecord(mirror);
  const retired = new Set(readFileSync(list, "utf8").split("\n").filter(Boolean));
  for (const hash of retired)
    if (hash !== current)
      for (const ext of ["idx", "pack", "rev"])
        rmSync(path.join(mirror, "objects", "pack", `pack-${hash}.${ext}`), { force: true });
  rmSync(list, { force: true });
}

/** Packs the commit's tree uncompressed and without deltas; the new pack's hash. */
async function writeTreePack(git: MirrorGit, mirror: string, commit: string): Promise<string> {
  const objects = git.spawn(["-C", mirror, "rev-list", "--objects", "--no-walk", commit]);
  const packer = git.spawn([
    ...["-C", mirror, "-c", "pack.compression=0", "pack-objects", "--quiet"],
    ...["--window=0", "--no-reuse-object", path.join(mirror, "objects", "pack", "pack")],
  ]);
  objects.stdin?.end();
  for (const child of [objects, packer]) inBackground(child);
  objects.stdout!.pipe(packer.stdin!);
  let hash = "";
  packer.stdout!.on("data", (chunk: Buffer) => (hash += chunk.toString()));
  await Promise.all([exited(objects, "rev-list"), exited(packer, "pack-objects")]);
  return hash.trim();
}

function inBackground(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) os.setPriority(child.pid, BACKGROUND_PRIORITY);
  } catch {
    // already gone, or not permitted: it then runs at the runner's priority
  }
}

function exited(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} exited with ${code}`)),
    );
  });
}
