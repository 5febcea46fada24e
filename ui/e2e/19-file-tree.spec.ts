import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

import AxeBuilder from "@axe-core/playwright";

import { createJob, ended, expect, openJob, test, waitForJob } from "./fixtures";
import { STATE_FILE } from "./global-setup";

// The job's result as a project in the browser, against the real server: a finished hello job,
// its files as a tree (folders fold), a file opened with its contents highlighted, its versions
// with who wrote each (model, task) and its diff against the version before. The second
// version is a later commit of the job's workspace by another model, as a fix round makes one.

const PYTHON = join(resolve(__dirname, "..", ".."), ".venv", "bin", "python");
const FIXER = "fixer-model-1";
const COMMIT = `
import sys, time
from pathlib import Path
from orchestrator.workspace import Workspace
root, path = Path(sys.argv[1]), sys.argv[2]
text = (root / path).read_text().replace("Hello World", "Hello, World")
print(Workspace(root).commit({path: text}, author=sys.argv[3],
      message="fix_001: score 0.95, cost $0.00100\\n\\nFix the greeting", step="e2e-fix", now=time.time()))
`;

function commitAFix(jobId: string, path: string): string {
  const { dataDir } = JSON.parse(readFileSync(STATE_FILE, "utf8")) as { dataDir: string };
  const root = join(dataDir, "workspaces", jobId);
  return execFileSync(PYTHON, ["-c", COMMIT, root, path, FIXER], { encoding: "utf8" }).trim();
}

test("browse the result tree, open a file, see who wrote each version and the diff", async ({
  page,
  api,
  shot,
}) => {
  const jobId = await createJob(api, {
    project_description: "Write a hello world Python script, with tests",
    budget_usd: 0.5,
  });
  await waitForJob(api, jobId, ended);
  const detail = (await (await api(`/api/jobs/${jobId}`)).json()) as {
    tasks: Record<string, { model: string | null }>;
  };
  const listed = (await (await api(`/api/jobs/${jobId}/artifacts`)).json()) as {
    path: string;
    task_id: string;
  }[];
  const writer = listed.find((a) => a.path === "main.py")?.task_id ?? "";
  expect(writer).toMatch(/^task_/);
  const fix = commitAFix(jobId, "main.py");
  expect(fix).toMatch(/^[0-9a-f]{40}$/);

  await openJob(page, jobId);
  const tree = page.getByTestId("file-tree");
  await expect(tree.getByRole("button", { name: /^main\.py/ })).toBeVisible({ timeout: 60_000 });

  // A folder folds and unfolds, from the keyboard.
  const folder = tree.getByRole("button", { name: ".orchestrator/" });
  await expect(folder).toHaveAttribute("aria-expanded", "true");
  await expect(tree.getByRole("button", { name: /summary\.md/ })).toBeVisible();
  await folder.focus();
  await page.keyboard.press("Enter");
  await expect(folder).toHaveAttribute("aria-expanded", "false");
  await expect(tree.getByRole("button", { name: /summary\.md/ })).toBeHidden();
  await page.keyboard.press("Space");
  await expect(tree.getByRole("button", { name: /summary\.md/ })).toBeVisible();

  // Open main.py from the keyboard: its versions, newest first, each with its model and task.
  const file = tree.getByRole("button", { name: /^main\.py/ });
  await file.focus();
  await page.keyboard.press("Enter");
  await expect(file).toHaveAttribute("aria-current", "true");
  const viewer = page.getByTestId("file-viewer");
  await expect(viewer.getByTestId("file-path")).toHaveText("main.py");
  const versions = viewer.getByTestId("file-version");
  await expect(versions).toHaveCount(2);
  await expect(versions.nth(0).getByTestId("version-model")).toHaveText(FIXER);
  await expect(versions.nth(0).getByTestId("version-task")).toHaveText("fix_001");
  await expect(versions.nth(0)).toContainText(fix.slice(0, 8));
  await expect(versions.nth(1).getByTestId("version-model")).toHaveText(detail.tasks[writer]?.model ?? "?");
  await expect(versions.nth(1).getByTestId("version-task")).toHaveText(writer);
  await expect(versions.nth(0)).toHaveAttribute("aria-pressed", "true");

  // The newest contents, highlighted.
  const contents = viewer.getByTestId("file-contents");
  await expect(contents).toContainText('"Hello, World"');
  expect(await contents.locator('span[class*="sh__token"]').count()).toBeGreaterThan(5);

  // Its diff against the version before: the old greeting out, the new one in.
  await viewer.getByRole("tab", { name: "Changes" }).click();
  const diff = viewer.getByTestId("file-diff");
  await expect(diff.locator('[data-kind="del"]').filter({ hasText: '"Hello World"' })).toHaveCount(1);
  await expect(diff.locator('[data-kind="add"]').filter({ hasText: '"Hello, World"' })).toHaveCount(1);
  await expect(viewer.getByTestId("diff-against")).toContainText("against the version before");
  await shot("19-file-diff");

  const { violations } = await new AxeBuilder({ page })
    .include('[data-testid="artifacts"]')
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  expect(violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);

  // The first version: its own contents, and every line of it new.
  await versions.nth(1).click();
  await expect(versions.nth(1)).toHaveAttribute("aria-pressed", "true");
  await expect(viewer.getByTestId("diff-against")).toContainText("is the first version");
  await expect(diff.locator('[data-kind="del"]')).toHaveCount(0);
  expect(await diff.locator('[data-kind="add"]').count()).toBeGreaterThan(5);
  await viewer.getByRole("tab", { name: "Contents" }).click();
  await expect(contents).toContainText('"Hello World"');

  // On a phone: the tree and the viewer stack, nothing scrolls sideways but the code itself.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(viewer.getByTestId("file-path")).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await shot("19-file-phone");
});
