// Group commit of intake: concurrent creates share one statement, yet each request is answered with
// its own task, each task has its run, history row and outbox event, and one row the database
// refuses fails only its own request.
import { createTestContext, type TestContext } from "../helpers/test-context";
import { apiFor, REPO_URL, type Api } from "./task-fixtures";

let ctx: TestContext;
let api: Api;
beforeAll(async () => {
  ctx = await createTestContext();
  api = await apiFor(ctx);
});
afterAll(() => ctx.close());

const create = (title: string) =>
  api.auth(ctx.http.post("/api/tasks")).send({ title, prompt: `prompt of ${title}`, repoUrl: REPO_URL });

it("answers each of many concurrent creates with its own task, fully written", async () => {
  const titles = Array.from({ length: 40 }, (_, i) => `batch ${i}`);
  const responses = await Promise.all(titles.map(create));
  expect(responses.map((res) => res.status)).toEqual(titles.map(() => 201));
  expect(responses.map((res) => res.body.task.title)).toEqual(titles);
  expect(responses.map((res) => res.body.task.prompt)).toEqual(titles.map((title) => `prompt of ${title}`));
  const ids = responses.map((res) => res.body.task.id as string);
  expect(new Set(ids).size).toBe(ids.length);

  const tasks = await ctx.prisma.task.findMany({
    where: { id: { in: ids } },
    include: { runs: true, events: true },
  });
  const byId = new Map(tasks.map((task) => [task.id, task]));
  for (const [index, id] of ids.entries()) {
    const task = byId.get(id)!;
    expect(task).toMatchObject({ title: titles[index], state: "queued" });
    expect(task.runs.map((run) => [run.attempt, run.state])).toEqual([[1, "queued"]]);
    expect(task.events.map((event) => [event.fromState, event.toState, event.trigger])).toEqual([
      [null, "queued", "task_submitted"],
    ]);
  }
  const outbox = await ctx.prisma.outboxEvent.findMany({ where: { type: "task.created" } });
  const announced = outbox.filter((row) => ids.includes((row.data as { taskId: string }).taskId));
  expect(announced.map((row) => row.subject).sort()).toEqual(
    ids.map((id) => `optio.task.${id}.created`).sort(),
  );
  for (const row of announced) {
    const data = row.data as { taskId: string; title: string };
    expect(data.title).toBe(byId.get(data.taskId)!.title);
  }
});

it("one row the database refuses fails only its own request, with a 4xx", async () => {
  const titles = Array.from({ length: 20 }, (_, i) => (i === 7 ? "nul \u0000 byte" : `mixed ${i}`));
  const before = await ctx.prisma.task.count();
  const responses = await Promise.all(titles.map(create));
  const statuses = responses.map((res) => res.status);
  expect(statuses.filter((status, i) => i !== 7 && status === 201)).toHaveLength(19);
  expect(statuses[7]).toBe(400);
  expect(responses[7]!.body).toMatchObject({ code: "VALIDATION_FAILED" });
  expect(await ctx.prisma.task.count()).toBe(before + 19);
});
