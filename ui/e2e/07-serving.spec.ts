import { expect, test } from "./fixtures";

// How orchestrator/api/ui.py serves the export beside the API, on one port.
test("one port: pages, the job placeholder, 404s, redirects, API and metrics untouched", async ({
  request,
}) => {
  const get = (path: string) => request.get(path, { maxRedirects: 0 });

  for (const path of ["/", "/new/", "/history/", "/models/", "/jobs/anything/"]) {
    const res = await get(path);
    expect(res.status(), path).toBe(200);
    expect(res.headers()["content-type"]).toContain("text/html");
    expect(res.headers()["cache-control"]).toBe("no-cache");
  }
  // Every job id is answered by the one exported job page.
  expect(await (await get("/jobs/abc12345/")).text()).toBe(await (await get("/jobs/_/")).text());

  const redirect = await get("/history?q=x");
  expect(redirect.status()).toBe(308);
  expect(redirect.headers().location).toBe("/history/?q=x");

  const page404 = await get("/no/such/page/");
  expect(page404.status()).toBe(404);
  expect(page404.headers()["content-type"]).toContain("text/html");
  for (const path of [
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/_next/../../pyproject.toml",
  ]) {
    const res = await get(path);
    expect(res.status(), path).toBe(404);
    expect(await res.text()).not.toContain("root:");
  }

  const api404 = await get("/api/no-such-route");
  expect(api404.status()).toBe(404);
  expect(await api404.json()).toEqual({ detail: "Not Found" });
  expect((await request.post("/api/no-such-route")).status()).toBe(404);
  expect((await get("/api/models")).headers()["content-type"]).toContain("application/json");
  expect((await get("/healthz")).status()).toBe(200);
  expect(await (await get("/metrics")).text()).toContain("# TYPE");

  // Built assets are content-hashed: cached for good.
  const html = await (await get("/")).text();
  const asset = /src="(\/_next\/static\/[^"]+\.js)"/.exec(html)?.[1] ?? "";
  const res = await get(asset);
  expect(res.status()).toBe(200);
  expect(res.headers()["cache-control"]).toContain("immutable");
});
