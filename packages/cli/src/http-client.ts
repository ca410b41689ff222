// The typed REST client: every response is parsed with its packages/contracts schema, never cast.
import { z } from "zod";
import { ErrorResponse } from "@optio/contracts";
import { ApiError, CliError, ExitCode, UnreachableError } from "./exit-codes";
import type { Connection } from "./config";

export type Query = Record<string, string | number | boolean | string[] | undefined>;
export type RequestOptions = { query?: Query; body?: unknown; headers?: Record<string, string> };

export class OptioClient {
  constructor(readonly connection: Connection) {}

  get server(): string {
    return this.connection.server;
  }

  authHeaders(): Record<string, string> {
    return this.connection.token ? { authorization: `Bearer ${this.connection.token}` } : {};
  }

  url(path: string, query: Query = {}): string {
    const url = new URL(`${this.server}${path}`);
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item));
    }
    return url.toString();
  }

  async request<S extends z.ZodType>(
    schema: S,
    method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
    path: string,
    options: RequestOptions = {},
  ): Promise<z.output<S>> {
    const headers: Record<string, string> = {
      accept: "application/json",
      ...this.authHeaders(),
      ...options.headers,
    };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(this.url(path, options.query), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch (error) {
      throw new UnreachableError(this.server, causeOf(error));
    }
    const text = await response.text();
    const json = parseJson(text);
    if (!response.ok) {
      const error = ErrorResponse.safeParse(json);
      if (error.success)
        throw new ApiError(response.status, error.data.code, error.data.error, error.data.details);
      if (response.status >= 500 || json === undefined)
        throw new CliError(ExitCode.unavailable, `${this.server} answered HTTP ${response.status}`);
      throw new ApiError(response.status, `HTTP_${response.status}`, text.slice(0, 200));
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new CliError(
        ExitCode.failed,
        `unexpected response from ${method} ${path}: ${z.prettifyError(parsed.error).split("\n")[0]}`,
      );
    }
    return parsed.data;
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** fetch() wraps the network error (ECONNREFUSED, ENOTFOUND...) in `cause`. */
export function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
