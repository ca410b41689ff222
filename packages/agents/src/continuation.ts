// The prompt of a run that was meant to resume an agent session which cannot be restored (it
// expired, or the run that made it kept none): a new session, told where the earlier work is.

export interface ContinuationInput {
  /** The task's own prompt; null when the run's prompt is the task's. */
  taskPrompt: string | null;
  /** What this run was asked (the resume message, the fix-up). */
  prompt: string;
  branchName: string;
}

export function continuationPrompt({ taskPrompt, prompt, branchName }: ContinuationInput): string {
  return [
    `You are continuing earlier work on this task in a new session: the previous session could not`,
    `be restored. The branch \`${branchName}\` you are on holds what earlier runs committed; read its`,
    `history (\`git log\`) and its files before you change anything.`,
    ...(taskPrompt && taskPrompt !== prompt ? ["", "## The task", taskPrompt, "", "## Now"] : [""]),
    prompt,
  ].join("\n");
}
