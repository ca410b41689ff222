// Types for the plain-JS helpers in scripts/lib that the benchmarks reuse.
declare module "*/scripts/lib/services.mjs" {
  export function createDatabase(
    adminUrl: string,
    database: string,
    options?: { recreate?: boolean; owner?: string },
  ): void;
  export function startPostgres(options: {
    dataDir: string;
    port: number;
    database?: string | null;
    durable?: boolean;
    settings?: string[];
    role?: { name: string; password: string; createdb?: boolean };
  }): Promise<{
    url: string;
    adminUrl: string;
    roleUrl: (database: string) => string;
    stop: () => Promise<void>;
  }>;
  export function startNats(options: {
    dataDir: string;
    port: number;
    monitorPort: number;
    logFile: string;
    /** An authorization block (scripts/lib/credentials.mjs); none: no auth. */
    authorization?: string;
  }): Promise<{ url: string; stop: () => Promise<void> }>;
  export function stopChild(child: import("node:child_process").ChildProcess): Promise<void>;
}
declare module "*/scripts/lib/stack.mjs" {
  export function migrate(databaseUrl: string): void;
}
declare module "*/scripts/lib/system.mjs" {
  export function freePort(): Promise<number>;
  export const isRoot: boolean;
}
