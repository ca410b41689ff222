// An Octokit auth strategy for one repository's GitHub App installation: every request carries the
// current installation token (renewed by AppInstallationTokens shortly before expiry); a request
// GitHub answers 401 is sent once more with a fresh token (one revoked or expired early).
type Endpoint = { headers: Record<string, string | number | undefined> } & Record<string, unknown>;
type RequestFn = ((endpoint: Endpoint) => Promise<unknown>) & {
  endpoint: { merge: (route: unknown, parameters?: unknown) => Endpoint };
};

export type InstallationAuthOptions = {
  /** The token to send now. */
  current: () => Promise<string>;
  /** GitHub refused this token: forget it. */
  refused: (token: string) => void;
};

export function installationAuth(options: InstallationAuthOptions) {
  const send = async (request: RequestFn, endpoint: Endpoint, token: string) =>
    request({ ...endpoint, headers: { ...endpoint.headers, authorization: `token ${token}` } });

  const auth = async () => ({
    type: "token",
    tokenType: "installation",
    token: await options.current(),
  });
  return Object.assign(auth, {
    hook: async (request: RequestFn, route: unknown, parameters?: unknown) => {
      const endpoint = request.endpoint.merge(route, parameters);
      const token = await options.current();
      try {
        return await send(request, endpoint, token);
      } catch (error) {
        if ((error as { status?: number }).status !== 401) throw error;
        options.refused(token);
        return send(request, endpoint, await options.current());
      }
    },
  });
}
