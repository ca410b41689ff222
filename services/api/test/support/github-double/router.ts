// TEST ONLY. A tiny router for the GitHub double's REST routes: `:name` segments, JSON replies,
// GitHub's error body `{message, documentation_url, errors?}` and its page/per_page pagination.

export type Request = {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** The authenticated token's user login. */
  login: string;
  /** Absolute URL of this request (for Link headers). */
  url: URL;
};

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

export type Route = {
  method: string;
  path: string;
  handle: (request: Request) => Reply | Promise<Reply>;
};

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Array<Record<string, unknown>>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body() {
    return {
      message: this.message,
      documentation_url: "https://docs.github.com/rest",
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export const notFound = () => new HttpError(404, "Not Found");
export const unprocessable = (message: string, errors?: Array<Record<string, unknown>>) =>
  new HttpError(422, message, errors ?? [{ resource: "Issue", code: "custom", message }]);

type Compiled = Route & { pattern: RegExp; keys: string[] };

export class Router {
  private readonly routes: Compiled[] = [];

  add(routes: Route[]): void {
    for (const route of routes) {
      const keys: string[] = [];
      const source = route.path.replace(/:([a-z_]+)/g, (_match, key: string) => {
        keys.push(key);
        return key === "ref" ? "(.+?)" : "([^/]+)";
      });
      this.routes.push({ ...route, keys, pattern: new RegExp(`^${source}$`) });
    }
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } | null {
    let pathMatched = false;
    for (const route of this.routes) {
      const found = route.pattern.exec(path);
      if (!found) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, index) => (params[key] = decodeURIComponent(found[index + 1]!)));
      return { route, params };
    }
    if (pathMatched) throw new HttpError(404, "Not Found");
    return null;
  }
}

/** One page of `items` by `page`/`per_page` (GitHub: default 30, max 100) and its Link header. */
export function paginate<T>(items: T[], request: Request): Reply & { body: T[] } {
  const perPage = Math.min(100, Math.max(1, Number(request.query.get("per_page") ?? 30) || 30));
  const page = Math.max(1, Number(request.query.get("page") ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const url = new URL(request.url);
    url.searchParams.set("page", String(n));
    url.searchParams.set("per_page", String(perPage));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
  if (page > 1) links.push(link(1, "first"), link(page - 1, "prev"));
  return {
    status: 200,
    body: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length ? { link: links.join(", ") } : {},
  };
}

/** A required positive integer path parameter. */
export function intParam(request: Request, key: string): number {
  const value = Number(request.params[key]);
  if (!Number.isInteger(value) || value <= 0) throw notFound();
  return value;
}

export function stringField(body: Record<string, unknown>, key: string, required = true): string | undefined {
  const value = body[key];
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string" || (required && value.length === 0)) {
    throw new HttpError(422, `Invalid request.\n\n"${key}" is missing or not a string.`, [
      { field: key, code: "missing_field" },
    ]);
  }
  return value;
}
