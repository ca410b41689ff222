// TEST ONLY. GitHub Apps in the double: an App holds a public key and verifies the JWTs its private
// key signs (RS256; `iss` the App id, `iat` not in the future, `exp` ahead but at most ten minutes),
// which authenticate only the App routes; an installation on repositories exchanges a JWT for an
// installation token (`ghs_…`) that the other routes and git accept until it expires.
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from "node:crypto";
import { HttpError, intParam, notFound, type Route } from "./router";

export type AppRecord = { id: number; slug: string; publicKey: KeyObject };
export type InstallationRecord = { id: number; appId: number; owner: string; repos: Set<string> };
export type MintedToken = { token: string; installationId: number; expiresAt: number };

/** Paths authenticated by an App's JWT instead of a token. */
export const APP_ROUTE = /^\/(?:app(?:\/.*)?|repos\/[^/]+\/[^/]+\/installation)$/;

const CLOCK_SKEW_SECONDS = 60;
const MAX_JWT_SECONDS = 600;

const refuse = (message: string) => new HttpError(401, message);

export class GitHubApps {
  readonly apps = new Map<number, AppRecord>();
  readonly installations = new Map<number, InstallationRecord>();
  readonly minted: MintedToken[] = [];
  /** Seconds an installation token lives (GitHub: one hour). */
  tokenTtlSeconds = 3600;
  private nextAppId = 1000;
  private nextInstallationId = 5000;

  /** `register` makes a token acceptable (for `login`) until `expiresAt` (ms). */
  constructor(private readonly register: (token: string, login: string, expiresAt: number) => void) {}

  /** A new App; its private key is PKCS#1 PEM, as GitHub's settings page hands it out. */
  create(slug = "optio-app"): { appId: string; privateKey: string; slug: string } {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const id = this.nextAppId++;
    this.apps.set(id, { id, slug, publicKey });
    return {
      appId: String(id),
      privateKey: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      slug,
    };
  }

  install(appId: string, owner: string, repos: string[]): number {
    const app = this.apps.get(Number(appId));
    if (!app) throw new Error(`no app ${appId}`);
    const id = this.nextInstallationId++;
    const names = new Set(repos.map((name) => `${owner}/${name}`.toLowerCase()));
    this.installations.set(id, { id, appId: app.id, owner, repos: names });
    return id;
  }

  /** The App a JWT authenticates, or a 401 with GitHub's wording. */
  verifyJwt(jwt: string | undefined): AppRecord {
    const parts = (jwt ?? "").split(".");
    const undecodable = refuse("A JSON web token could not be decoded");
    if (parts.length !== 3) throw undecodable;
    let header: { alg?: unknown };
    let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
    try {
      header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString());
      claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString());
    } catch {
      throw undecodable;
    }
    if (header.alg !== "RS256") throw undecodable;
    const app = this.apps.get(Number(claims.iss));
    if (!app) throw refuse("Integration not found");
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify("RSA-SHA256", signed, app.publicKey, Buffer.from(parts[2]!, "base64url"))) throw undecodable;
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.iat !== "number" || claims.iat > now + CLOCK_SKEW_SECONDS) {
      throw refuse(
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      );
    }
    if (typeof claims.exp !== "number" || claims.exp <= now) {
      throw refuse(
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (claims.exp - now > MAX_JWT_SECONDS) {
      throw refuse("'Expiration time' claim ('exp') is too far in the future");
    }
    return app;
  }

  routes(): Route[] {
    const appOf = (login: string) => this.apps.get(Number(/^app:(\d+)$/.exec(login)?.[1]))!;
    return [
      {
        method: "GET",
        path: "/repos/:owner/:repo/installation",
        handle: (req) => {
          const app = appOf(req.login);
          const full = `${req.params.owner}/${req.params.repo}`.toLowerCase();
          const found = [...this.installations.values()].find(
            (installation) => installation.appId === app.id && installation.repos.has(full),
          );
          if (!found) throw notFound();
          return {
            status: 200,
            body: {
              id: found.id,
              app_id: app.id,
              app_slug: app.slug,
              account: { login: found.owner, type: "Organization" },
              repository_selection: "selected",
              access_tokens_url: `${req.url.origin}/api/v3/app/installations/${found.id}/access_tokens`,
              permissions: { contents: "write", issues: "write", pull_requests: "write" },
            },
          };
        },
      },
      {
        method: "POST",
        path: "/app/installations/:id/access_tokens",
        handle: (req) => {
          const app = appOf(req.login);
          const installation = this.installations.get(intParam(req, "id"));
          if (!installation || installation.appId !== app.id) throw notFound();
          const token = `ghs_${randomBytes(18).toString("hex")}`;
          // GitHub's expiry is to the second.
          const expiresAt = (Math.floor(Date.now() / 1000) + this.tokenTtlSeconds) * 1000;
          this.register(token, `${app.slug}[bot]`, expiresAt);
          this.minted.push({ token, installationId: installation.id, expiresAt });
          return {
            status: 201,
            body: {
              token,
              expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
              permissions: { contents: "write", issues: "write", pull_requests: "write" },
              repository_selection: "selected",
            },
          };
        },
      },
    ];
  }
}
