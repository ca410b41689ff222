#!/usr/bin/env bash
# Optio run entrypoint: clone and branch (optio-clone) → agent → commit → push → one machine-readable
# result line.
#
# Inputs (plain environment): OPTIO_TASK_ID, OPTIO_RUN_ID, OPTIO_ATTEMPT, OPTIO_TASK_TITLE,
#   OPTIO_REPO_URL, OPTIO_REPO_BRANCH, OPTIO_BRANCH_NAME; optional OPTIO_RUN_DIR (default /run/optio),
#   OPTIO_WORKSPACE (default /workspace), OPTIO_READ_ONLY=1 (review runs: no commit, no push) and
#   OPTIO_REPO_REFERENCE (the runner's mirror of the repository: see optio-clone).
# When OPTIO_BRANCH_NAME already exists on the remote (an earlier run pushed it), the run continues it.
# Inputs (files in OPTIO_RUN_DIR, written by the runner, read once and deleted when secret):
#   agent-cmd       the agent's argv, NUL-separated
#   prompt          the prompt; the agent's stdin when agent-stdin contains "prompt"; with "stream",
#                   the agent's first input line, and then the rest of our stdin (see below)
#   agent-stdin     "prompt", "stream" or "none"
#   agent.env       secret env for the agent only: NUL-terminated NAME=value entries
#   git-credential  line 1 username, line 2 secret (optional)
#   agent-session.tgz  the task's kept agent sessions, unpacked into $HOME before the agent starts
# Output files: agent-session.out.tgz, the agent's sessions (OPTIO_AGENT_SESSION_PATHS under $HOME)
#   after it exited, read by the runner before it removes the container.
# The git credential reaches git only through the credential helper, via variables set on the clone
# (optio-clone) and push commands alone: never in a URL, an argument, a log line, or the agent's
# environment.
# Output: agent stdout on stdout; our own messages on stderr prefixed "[optio] "; last stdout line:
#   ::optio-result::{"exitCode":N,"branch":"...","pushed":bool,"commits":N,"headSha":"..."|null,"error":{...}|null}
# Spec on stdin (OPTIO_SPEC_FROM_STDIN=1: every Docker run; a warm-pool container is started ahead
#   of time): the container starts without the run's environment or files and blocks here until
#   the runner writes one line with a byte count, then that many bytes of tar (the run directory's
#   files, plus run.env: the plain environment, in agent.env's format). Nothing of a run (repo,
#   secret) exists in it before that. The stream stays open: an agent whose agent-stdin is "stream"
#   reads the prompt file and then whatever the runner writes after the spec (more messages), until
#   the runner closes it (GNU head -c reads exactly the spec's bytes from the pipe).
# Up to the first log line this script starts as few processes as it can: each costs ~7 ms in a
# small VM, and they are the wait before a run shows any sign of life.
set -uo pipefail

# Exports an env file's NUL-terminated NAME=value entries (names checked by the runner): no subshell
# or decoder per variable, and no quoting to get wrong.
export_env_file() {
  local entry
  while IFS= read -r -d '' entry; do export "$entry"; done < "$1"
}

if [ "${OPTIO_SPEC_FROM_STDIN:-}" = 1 ]; then
  IFS= read -r SPEC_BYTES || exit 2
  head -c "$SPEC_BYTES" | tar -x -C "${OPTIO_RUN_DIR:-/run/optio}" --strip-components=1 || exit 2
  export_env_file "${OPTIO_RUN_DIR:-/run/optio}/run.env"
fi

RUN_DIR=${OPTIO_RUN_DIR:-/run/optio}
WORKSPACE=${OPTIO_WORKSPACE:-/workspace}
REPO="$WORKSPACE/repo"
SELF=${BASH_SOURCE[0]}
[[ $SELF == */* ]] || SELF=./$SELF
LIB=${SELF%/*}
[[ $LIB == /* ]] || LIB=$PWD/$LIB # absolute: git runs the credential helper by this path
HELPER="$LIB/git-credential-optio"
BRANCH="$OPTIO_BRANCH_NAME"
export GIT_TERMINAL_PROMPT=0

log() { printf '[optio] %s\n' "$*" >&2; }

# result EXIT_CODE PUSHED COMMITS HEAD ERROR_CODE ERROR_MESSAGE
result() {
  local head=null error=null
  [ -n "$4" ] && head="\"$4\""
  [ -n "$5" ] && error="{\"code\":\"$5\",\"message\":\"$6\"}"
  printf '::optio-result::{"exitCode":%d,"branch":"%s","pushed":%s,"commits":%d,"headSha":%s,"error":%s}\n' \
    "$1" "$BRANCH" "$2" "$3" "$head" "$error"
}

GIT_USER="" GIT_SECRET=""
if [ -f "$RUN_DIR/git-credential" ]; then
  { IFS= read -r GIT_USER || true; IFS= read -r GIT_SECRET || true; } < "$RUN_DIR/git-credential"
  rm -f "$RUN_DIR/git-credential"
fi
# Runs "$@" with the credential helper as every git's only one; the secret is in the environment of
# that command only.
with_credential() {
  if [ -n "$GIT_SECRET" ]; then
    OPTIO_GIT_USERNAME="$GIT_USER" OPTIO_GIT_SECRET="$GIT_SECRET" GIT_CONFIG_COUNT=2 \
      GIT_CONFIG_KEY_0=credential.helper GIT_CONFIG_VALUE_0= \
      GIT_CONFIG_KEY_1=credential.helper GIT_CONFIG_VALUE_1="$HELPER" "$@"
  else
    GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=credential.helper GIT_CONFIG_VALUE_0= "$@"
  fi
}

# The global git config in one write instead of four `git config` processes.
# git_quoted VAR VALUE: VAR set to VALUE quoted for git's config format (backslash, double quote and
# newline escaped), by builtins only.
git_quoted() {
  local value=${2//\\/\\\\}
  value=${value//\"/\\\"}
  printf -v "$1" '"%s"' "${value//$'\n'/\\n}"
}
git_quoted AUTHOR_NAME "${OPTIO_GIT_AUTHOR_NAME:-Optio Agent}"
git_quoted AUTHOR_EMAIL "${OPTIO_GIT_AUTHOR_EMAIL:-optio-agent@users.noreply.local}"
printf '[user]\n\tname = %s\n\temail = %s\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n' \
  "$AUTHOR_NAME" "$AUTHOR_EMAIL" >> "$HOME/.gitconfig"

log "cloning branch $OPTIO_REPO_BRANCH"
if ! with_credential "$LIB/optio-clone" "$REPO"; then
  result 1 false 0 "" CLONE_FAILED "could not clone the repository at branch $OPTIO_REPO_BRANCH"
  exit 2
fi
cd "$REPO" || exit 2
BASE=$(git rev-parse HEAD)
log "working on $BRANCH from ${BASE:0:12}"

# The task's kept agent sessions (packed after an earlier run, kept by the runner): a resume finds
# its session here although the container that made it is gone.
if [ -f "$RUN_DIR/agent-session.tgz" ]; then
  tar -xzf "$RUN_DIR/agent-session.tgz" -C "$HOME" || log "could not restore the agent's sessions"
  rm -f "$RUN_DIR/agent-session.tgz"
fi

mapfile -d '' -t AGENT_ARGV < "$RUN_DIR/agent-cmd"
STDIN=/dev/null
AGENT_STDIN=""
[ -f "$RUN_DIR/agent-stdin" ] && IFS= read -r AGENT_STDIN < "$RUN_DIR/agent-stdin" # no newline: read fails, yet sets it
[ "$AGENT_STDIN" = "prompt" ] && STDIN="$RUN_DIR/prompt"
# "stream": the prompt line, then our own stdin as it comes, on the agent's stdin (through FEED).
FEED="" FEED_PID=""
if [ "$AGENT_STDIN" = "stream" ]; then
  exec {FEED}< <(exec cat "$RUN_DIR/prompt" -)
  FEED_PID=$!
fi

# The agent runs in its own process group so a stop signal reaches every process it started.
TERMINATED=0
AGENT_PID=""
on_stop() {
  TERMINATED=1
  log "stop requested: signalling the agent"
  [ -n "$AGENT_PID" ] && kill -TERM -- "-$AGENT_PID" 2>/dev/null
}
trap on_stop TERM INT

log "starting agent: ${AGENT_ARGV[0]}"
(
  [ -f "$RUN_DIR/agent.env" ] && export_env_file "$RUN_DIR/agent.env"
  [ -n "$FEED" ] && exec setsid "${AGENT_ARGV[@]}" <&"$FEED" {FEED}<&-
  exec setsid "${AGENT_ARGV[@]}" < "$STDIN"
) &
AGENT_PID=$!
[ -n "$FEED" ] && exec {FEED}<&- # the agent holds the feed now
echo "$AGENT_PID" > "$RUN_DIR/agent.pgid" # lets a driver without containers kill the agent's group
AGENT_EXIT=0
wait "$AGENT_PID" || AGENT_EXIT=$?
# A trapped signal interrupts `wait`; wait again for the agent's own exit status.
while kill -0 "$AGENT_PID" 2>/dev/null; do wait "$AGENT_PID" && AGENT_EXIT=0 || AGENT_EXIT=$?; done
[ -n "$FEED_PID" ] && kill "$FEED_PID" 2>/dev/null # still reading our stdin if the agent ended first
rm -f "$RUN_DIR/agent.env"
trap - TERM INT

# The agent's sessions (OPTIO_AGENT_SESSION_PATHS: colon-separated, under $HOME) for the runner to
# keep, whatever the exit: a stopped run's session can be resumed too.
if [ -n "${OPTIO_AGENT_SESSION_PATHS:-}" ]; then
  IFS=: read -r -a SESSION_PATHS <<<"$OPTIO_AGENT_SESSION_PATHS"
  PRESENT=()
  for p in "${SESSION_PATHS[@]}"; do [ -e "$HOME/$p" ] && PRESENT+=("$p"); done
  if [ ${#PRESENT[@]} -gt 0 ]; then
    tar -czf "$RUN_DIR/agent-session.out.tgz" -C "$HOME" -- "${PRESENT[@]}" || log "could not pack the agent's sessions"
  fi
fi

if [ "$TERMINATED" = 1 ]; then
  log "agent stopped (exit $AGENT_EXIT)"
  result "$AGENT_EXIT" false 0 "" CANCELLED "the run was stopped"
  exit 143
fi
log "agent exited with $AGENT_EXIT"

# A read-only run (a review) leaves the branch as it found it: nothing is committed or pushed.
if [ "${OPTIO_READ_ONLY:-}" = 1 ]; then
  if [ "$AGENT_EXIT" != 0 ]; then
    result "$AGENT_EXIT" false 0 "$BASE" AGENT_FAILED "the agent exited with $AGENT_EXIT"
    exit "$AGENT_EXIT"
  fi
  result 0 false 0 "$BASE" "" ""
  exit 0
fi

git add -A
if ! git diff --cached --quiet; then
  git commit --quiet -m "optio: ${OPTIO_TASK_TITLE:-task $OPTIO_TASK_ID}" \
    -m "$(printf 'Task: %s\nRun: %s (attempt %s)' "$OPTIO_TASK_ID" "$OPTIO_RUN_ID" "${OPTIO_ATTEMPT:-1}")"
fi
COMMITS=$(git rev-list --count "$BASE..HEAD")
HEAD_SHA=$(git rev-parse HEAD)

if [ "$AGENT_EXIT" != 0 ]; then
  result "$AGENT_EXIT" false "$COMMITS" "$HEAD_SHA" AGENT_FAILED "the agent exited with $AGENT_EXIT"
  exit "$AGENT_EXIT"
fi
if [ "$COMMITS" = 0 ]; then
  log "the agent left no changes"
  result 0 false 0 "$HEAD_SHA" "" ""
  exit 0
fi
log "pushing $COMMITS commit(s) to $BRANCH"
# The branch belongs to this task: a newer attempt replaces what an older one pushed. A push that
# fails is tried again (twice, after 1 s and 2 s): the server may have refused it for a moment
# (another push updating refs at the same time).
pushed=false
for attempt in 1 2 3; do
  if with_credential git push --quiet --force origin "HEAD:refs/heads/$BRANCH"; then
    pushed=true
    break
  fi
  [ "$attempt" = 3 ] || { log "push attempt $attempt failed; trying again"; sleep "$attempt"; }
done
if [ "$pushed" != true ]; then
  result 0 false "$COMMITS" "$HEAD_SHA" PUSH_FAILED "could not push $BRANCH"
  exit 3
fi
result 0 true "$COMMITS" "$HEAD_SHA" "" ""
exit 0
