import { expect, test } from "./fixtures";
import { type RunningServer, startServer, stopServer } from "./server";

declare global {
  interface Window {
    __pwned?: number;
  }
}

const MARKUP = "<img src=x onerror=window.__pwned=1>";

test("a description with HTML is stored verbatim and shown as text", async ({ page, api }) => {
  await page.goto("/new/");
  await page.getByLabel("Project description").fill(MARKUP);
  await page.getByLabel("Budget (USD)").fill("0.5");
  await page.getByRole("button", { name: "Start Job" }).click();

  await expect(page).toHaveURL(/\/jobs\/[0-9a-z]{8}\/$/);
  const jobId = /\/jobs\/([^/]+)\//.exec(page.url())?.[1] ?? "";
  await expect(page.getByTestId("job-title")).toHaveText(MARKUP);
  const stored = (await (await api(`/api/jobs/${jobId}`)).json()) as { project_description: string };
  expect(stored.project_description).toBe(MARKUP);

  for (const path of ["/", "/history/"]) {
    await page.goto(path);
    await expect(page.getByText(MARKUP).first()).toBeVisible();
  }
  // Rendered as text: no element came out of it, and its handler never ran.
  expect(await page.locator('img[src="x"]').count()).toBe(0);
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  await api(`/api/jobs/${jobId}/cancel`, { method: "POST" }); // spare the CPU
});

test.describe("a server with an API token", () => {
  const TOKEN = "e2e-token-7c41d2";
  let server: RunningServer;

  test.beforeAll(async () => {
    server = await startServer("server-token", { ORCH_API_TOKEN: TOKEN });
  });
  test.afterAll(async () => {
    await stopServer(server);
  });
  // Chrome logs every 401 the login form is there to answer.
  test.use({ allowConsole: /status of 401/ });

  test("asks for the token, keeps only an HttpOnly cookie, follows a live job", async ({ page, shot }) => {
    await page.goto(`${server.baseURL}/`);
    const form = page.getByTestId("login-form");
    await expect(form).toBeVisible();
    await shot("15-login");

    await page.getByLabel("API token").fill("not-the-token");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("login-error")).toHaveText("That is not the server's token.");

    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(form).toBeHidden();
    // The calls that got 401 were retried: the page loaded without a reload.
    await expect(page.getByTestId("empty-state")).toBeVisible();
    await expect(page.getByTestId("sidebar-models").getByText("claude-sonnet-4-6")).toBeVisible();

    // Nothing readable by scripts holds the token or the session.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    expect(stored).not.toContain(TOKEN);
    expect(await page.evaluate(() => document.cookie)).not.toContain("orch_session");
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "orch_session");
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Strict");
    expect(session?.value).not.toContain(TOKEN);

    // The event stream authenticates with the cookie (EventSource cannot send headers).
    await page.goto(`${server.baseURL}/new/`);
    await page.getByLabel("Project description").fill("Weigh the options for heating a small house");
    await page.getByRole("button", { name: "Start Job" }).click();
    await expect(page).toHaveURL(/\/jobs\/[0-9a-z]{8}\/$/);
    await expect(page.getByTestId("log-line").first()).toBeVisible();
    await expect(page.locator("[data-final-status]")).toHaveAttribute("data-final-status", /.+/, {
      timeout: 150_000,
    });

    // Logged out: the next page asks again.
    const out = await page.request.delete(`${server.baseURL}/api/session`);
    expect(out.status()).toBe(204);
    await page.goto(`${server.baseURL}/history/`);
    await expect(form).toBeVisible();
  });
});
