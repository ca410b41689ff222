export * from "./task-states";
export * from "./task-actions";
export * from "./dependencies";
export * from "./subtasks";
export * from "./ordering";
export * from "./run-outcome";
export * from "./pull-request";
export * from "./redaction";
