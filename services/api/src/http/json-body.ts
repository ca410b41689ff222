import type { FastifyInstance } from "fastify";

/**
 * JSON bodies through Fastify's own parser (prototype-poisoning checks included), except that an
 * empty body sent as `application/json` reads as `{}`: many HTTP clients send that header on every
 * POST, also for actions that take no body (cancel, retry, resume, bulk…), and the route's schema
 * still decides whether `{}` is acceptable.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") return done(null, {});
    return parse(request, text, done);
  });
}
