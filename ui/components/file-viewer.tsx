"use client";

import { useEffect, useState } from "react";
import { highlight } from "sugar-high";

import { languageFor } from "@/components/code-output";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { type FileDiff, type FileHistory, api } from "@/lib/api";
import { bytes, dateTime } from "@/lib/format";
import { cn } from "@/lib/utils";

type Loaded<T> = { ok: true; value: T } | { ok: false; error: string } | null;

function useLoad<T>(load: (() => Promise<T>) | null, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>(null);
  useEffect(() => {
    if (!load) return;
    let alive = true;
    setState(null);
    load()
      .then((value) => alive && setState({ ok: true, value }))
      .catch(
        (e: unknown) => alive && setState({ ok: false, error: e instanceof Error ? e.message : String(e) }),
      );
    return () => {
      alive = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `deps` says when to load again
  }, deps);
  return state;
}

function Code({ path, text }: { path: string; text: string }) {
  const lang = languageFor(path.split(".").pop() ?? "");
  // sugar-high escapes every token (&, <, >, quotes) before wrapping it in a span.
  const html = highlight(text.replace(/\n$/, ""), lang ? { lang } : undefined);
  return (
    <pre
      className="code-block max-h-[32rem] overflow-auto rounded-lg bg-gray-950 p-3 font-mono text-xs leading-relaxed text-gray-200"
      data-testid="file-contents"
      tabIndex={0}
      aria-label={`Contents of ${path}`}
    >
      <code dangerouslySetInnerHTML={{ __html: html }} />
    </pre>
  );
}

type LineKind = "file" | "hunk" | "add" | "del" | "same";

function kindOf(line: string): LineKind {
  if (line.startsWith("+++") || line.startsWith("---")) return "file";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "del";
  return "same";
}

const LINE: Record<LineKind, string> = {
  file: "text-gray-400",
  hunk: "text-sky-300",
  add: "bg-green-900/50 text-green-200",
  del: "bg-red-900/50 text-red-200",
  same: "text-gray-300",
};

function Diff({ diff }: { diff: FileDiff }) {
  if (!diff.diff) return <p className="text-sm text-muted-foreground">This version changed nothing.</p>;
  return (
    <pre
      className="max-h-[32rem] overflow-auto rounded-lg bg-gray-950 py-3 font-mono text-xs leading-relaxed"
      data-testid="file-diff"
      tabIndex={0}
      aria-label={
        diff.previous ? "Changes against the version before" : "The first version: every line added"
      }
    >
      {diff.diff
        .replace(/\n$/, "")
        .split("\n")
        .map((line, i) => (
          <div key={i} className={cn("px-3 whitespace-pre", LINE[kindOf(line)])} data-kind={kindOf(line)}>
            {line || " "}
          </div>
        ))}
    </pre>
  );
}

/** One result file: its versions in the job's git history (who wrote each: model and task),
 *  the chosen version's contents highlighted, and its diff against the version before. */
export function FileViewer({ jobId, path, version }: { jobId: string; path: string; version: string }) {
  const history = useLoad<FileHistory>(() => api.jobs.fileHistory(jobId, path), [jobId, path, version]);
  const versions = history?.ok ? history.value.versions : [];
  const [commit, setCommit] = useState<string | null>(null);
  const [tab, setTab] = useState("contents");
  const chosen = versions.find((v) => v.commit === commit) ?? versions[0] ?? null;
  const ready = history !== null;
  const contents = useLoad<string>(
    ready
      ? () => (chosen ? api.jobs.fileVersion(jobId, path, chosen.commit) : api.jobs.artifactText(jobId, path))
      : null,
    [jobId, path, ready, chosen?.commit],
  );
  const diff = useLoad<FileDiff>(
    chosen && tab === "changes" ? () => api.jobs.fileDiff(jobId, path, chosen.commit) : null,
    [jobId, path, chosen?.commit, tab],
  );

  return (
    <section
      className="min-w-0 space-y-3 rounded-xl border bg-card p-3"
      aria-label={`File ${path}`}
      data-testid="file-viewer"
    >
      <h3 className="font-mono text-sm font-semibold break-all" data-testid="file-path">
        {path}
      </h3>
      {history?.ok === false && (
        <p className="text-sm text-destructive-ink">History could not be read: {history.error}</p>
      )}
      {history?.ok && versions.length === 0 && (
        <p className="text-sm text-muted-foreground">
          No history: this file is not part of the project&apos;s git tree.
        </p>
      )}
      {versions.length > 0 && (
        <div>
          <h4 className="mb-1 text-xs font-medium text-muted-foreground">
            {versions.length === 1 ? "1 version" : `${versions.length} versions, newest first`}
          </h4>
          <ol className="space-y-1" aria-label={`Versions of ${path}`} data-testid="file-versions">
            {versions.map((v, i) => {
              const current = v.commit === chosen?.commit;
              return (
                <li key={v.commit}>
                  <button
                    type="button"
                    aria-pressed={current}
                    onClick={() => setCommit(v.commit)}
                    data-testid="file-version"
                    className={cn(
                      "flex w-full flex-wrap items-center gap-x-3 gap-y-0.5 rounded-md border px-2 py-1.5 text-left text-xs outline-none hover:bg-muted focus-visible:ring-[3px] focus-visible:ring-ring",
                      current && "border-primary bg-muted",
                    )}
                  >
                    <span className="font-mono">{v.commit.slice(0, 8)}</span>
                    <span className="font-medium" data-testid="version-model">
                      {v.model}
                    </span>
                    <span className="text-muted-foreground" data-testid="version-task">
                      {v.task_id ?? "no task"}
                    </span>
                    <span className="text-muted-foreground tabular-nums">{bytes(v.size)}</span>
                    <span className="ml-auto text-muted-foreground">
                      {i === versions.length - 1 ? "first · " : ""}
                      {dateTime(v.time)}
                    </span>
                  </button>
                </li>
              );
            })}
          </ol>
        </div>
      )}
      <Tabs value={chosen ? tab : "contents"} onValueChange={setTab}>
        <TabsList aria-label="Show">
          <TabsTrigger value="contents">Contents</TabsTrigger>
          <TabsTrigger value="changes" disabled={!chosen}>
            Changes
          </TabsTrigger>
        </TabsList>
        <TabsContent value="contents">
          {contents === null ? (
            <p className="text-sm text-muted-foreground">Loading…</p>
          ) : contents.ok ? (
            <Code path={path} text={contents.value} />
          ) : (
            <p className="text-sm text-destructive-ink">The file could not be read: {contents.error}</p>
          )}
        </TabsContent>
        <TabsContent value="changes">
          {chosen && (
            <p className="mb-2 text-xs text-muted-foreground" data-testid="diff-against">
              {chosen.previous
                ? `${chosen.commit.slice(0, 8)} against the version before, ${chosen.previous.slice(0, 8)}`
                : `${chosen.commit.slice(0, 8)} is the first version: every line is new`}
            </p>
          )}
          {diff === null ? (
            <p className="text-sm text-muted-foreground">Loading…</p>
          ) : diff.ok ? (
            <Diff diff={diff.value} />
          ) : (
            <p className="text-sm text-destructive-ink">The diff could not be read: {diff.error}</p>
          )}
        </TabsContent>
      </Tabs>
    </section>
  );
}
