import { PlatformHosts } from "./platform-hosts";

describe("PlatformHosts", () => {
  it("knows github.com without configuration", () => {
    const hosts = new PlatformHosts({});
    expect(hosts.locate("https://github.com/acme/widgets")).toEqual({
      kind: "github",
      owner: "acme",
      name: "widgets",
      apiUrl: "https://api.github.com",
    });
    expect(hosts.locate("https://github.com/acme/widgets.git")?.name).toBe("widgets");
    expect(hosts.locate("https://gitlab.com/acme/widgets")).toBeNull();
    expect(hosts.locate("https://github.com/acme")).toBeNull();
    expect(hosts.locate("https://github.com/acme/widgets/tree/main")).toBeNull();
  });

  it("treats the host of OPTIO_GITHUB_URL as GitHub, port included, API under /api/v3", () => {
    const hosts = new PlatformHosts({ githubUrl: "http://127.0.0.1:8123" });
    expect(hosts.locate("http://127.0.0.1:8123/acme/widgets")).toMatchObject({
      owner: "acme",
      apiUrl: "http://127.0.0.1:8123/api/v3",
    });
    expect(hosts.locate("http://127.0.0.1:9999/acme/widgets")).toBeNull();
    expect(hosts.locate("https://github.com/acme/widgets")?.apiUrl).toBe("https://api.github.com");
  });

  it("honours an explicit API URL and a path prefix", () => {
    const hosts = new PlatformHosts({
      githubUrl: "https://git.example.com/gh/",
      githubApiUrl: "https://api.git.example.com/",
    });
    expect(hosts.locate("https://git.example.com/gh/acme/widgets")).toMatchObject({
      owner: "acme",
      name: "widgets",
      apiUrl: "https://api.git.example.com",
    });
    expect(hosts.locate("https://git.example.com/acme/widgets")).toBeNull();
  });
});
