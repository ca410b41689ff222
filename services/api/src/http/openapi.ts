import type { FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { jsonSchemaTransform } from "fastify-type-provider-zod";

/** The OpenAPI 3 document, generated from the routes' Zod schemas, and a browsable UI. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Optio API", version, description: "Coding tasks → agent runs → pull requests" },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer" },
          cookie: { type: "apiKey", in: "cookie", name: "optio_session" },
          queryToken: { type: "apiKey", in: "query", name: "token" },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }, { queryToken: [] }],
    },
    transform: jsonSchemaTransform,
  });
  // The documentation UI is public: its routes are marked so as they are added.
  await app.register(async (docs) => {
    docs.addHook("onRoute", (route) => {
      route.config = { ...route.config, public: true };
    });
    await docs.register(swaggerUi, { routePrefix: "/api/docs", uiConfig: { docExpansion: "list" } });
  });
  app.get("/api/openapi.json", { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
}
