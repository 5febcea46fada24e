"use client";

import { ChevronRight, Download, ExternalLink, FileText, Folder } from "lucide-react";
import dynamic from "next/dynamic";
import { useEffect, useMemo, useState } from "react";

import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { ApiError, type Artifact, api } from "@/lib/api";
import { bytes } from "@/lib/format";
import { cn } from "@/lib/utils";

// The viewer (highlighted contents, versions, diffs) loads when a file is first opened.
const FileViewer = dynamic(() => import("@/components/file-viewer").then((m) => m.FileViewer), {
  ssr: false,
  loading: () => <Skeleton className="h-48" />,
});

interface FolderNode {
  kind: "folder";
  name: string;
  path: string;
  children: TreeNode[];
}
interface FileNode {
  kind: "file";
  name: string;
  path: string;
  file: Artifact;
}
type TreeNode = FolderNode | FileNode;

/** The files as a tree: folders first, then files, each by name. */
export function buildTree(files: Artifact[]): TreeNode[] {
  const root: FolderNode = { kind: "folder", name: "", path: "", children: [] };
  for (const file of files) {
    const parts = file.path.split("/");
    let here = root;
    parts.slice(0, -1).forEach((name, i) => {
      const path = parts.slice(0, i + 1).join("/");
      let next = here.children.find((c): c is FolderNode => c.kind === "folder" && c.name === name);
      if (!next) {
        next = { kind: "folder", name, path, children: [] };
        here.children.push(next);
      }
      here = next;
    });
    here.children.push({ kind: "file", name: parts[parts.length - 1] ?? file.path, path: file.path, file });
  }
  const order = (nodes: TreeNode[]): TreeNode[] =>
    nodes
      .map((n) => (n.kind === "folder" ? { ...n, children: order(n.children) } : n))
      .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "folder" ? -1 : 1));
  return order(root.children);
}

const ROW =
  "flex min-w-0 flex-1 items-center gap-2 rounded-md px-2 py-1.5 text-left font-mono text-xs outline-none hover:bg-muted focus-visible:ring-[3px] focus-visible:ring-ring";

function Nodes({
  nodes,
  depth,
  jobId,
  selected,
  collapsed,
  onToggle,
  onSelect,
}: {
  nodes: TreeNode[];
  depth: number;
  jobId: string;
  selected: string | null;
  collapsed: Set<string>;
  onToggle: (path: string) => void;
  onSelect: (path: string) => void;
}) {
  return (
    <ul className="space-y-0.5">
      {nodes.map((node) => {
        const indent = { paddingLeft: `${depth * 0.875 + 0.5}rem` };
        if (node.kind === "folder") {
          const open = !collapsed.has(node.path);
          const id = `folder-${node.path.replace(/[^\w-]/g, "_")}`;
          return (
            <li key={node.path} data-testid="tree-folder" data-path={node.path}>
              <button
                type="button"
                className={ROW}
                style={indent}
                aria-expanded={open}
                aria-controls={id}
                onClick={() => onToggle(node.path)}
              >
                <ChevronRight
                  aria-hidden
                  className={cn("size-3.5 shrink-0 transition-transform", open && "rotate-90")}
                />
                <Folder aria-hidden className="size-4 shrink-0 text-muted-foreground" />
                <span className="truncate">{node.name}/</span>
              </button>
              <div id={id} hidden={!open}>
                {open && (
                  <Nodes
                    nodes={node.children}
                    depth={depth + 1}
                    jobId={jobId}
                    selected={selected}
                    collapsed={collapsed}
                    onToggle={onToggle}
                    onSelect={onSelect}
                  />
                )}
              </div>
            </li>
          );
        }
        const current = selected === node.path;
        return (
          <li
            key={node.path}
            className="flex items-center gap-1"
            data-testid="tree-file"
            data-path={node.path}
          >
            <button
              type="button"
              className={cn(ROW, current && "bg-muted font-semibold")}
              style={indent}
              aria-current={current ? "true" : undefined}
              onClick={() => onSelect(node.path)}
              title={node.file.task_id ? `${node.path}, last written by ${node.file.task_id}` : node.path}
            >
              <FileText aria-hidden className="ml-[1.125rem] size-4 shrink-0 text-muted-foreground" />
              <span className="truncate">{node.name}</span>
              <span className="ml-auto pl-2 font-sans text-muted-foreground tabular-nums">
                {bytes(node.file.size)}
              </span>
            </button>
            <a
              href={api.jobs.artifactUrl(jobId, node.path)}
              target="_blank"
              rel="noreferrer"
              aria-label={`Open ${node.path} raw`}
              title={`Open ${node.path} raw`}
              className="grid size-7 shrink-0 place-items-center rounded-md text-muted-foreground outline-none hover:bg-muted focus-visible:ring-[3px] focus-visible:ring-ring"
            >
              <ExternalLink aria-hidden className="size-3.5" />
            </a>
          </li>
        );
      })}
    </ul>
  );
}

/** Result files of a job as a tree, a viewer of the chosen file (its versions and their
 *  diffs), and the zip download. Reloaded when the job changes state. */
export function ResultFiles({ jobId, version }: { jobId: string; version: string }) {
  const [files, setFiles] = useState<Artifact[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());

  useEffect(() => {
    let alive = true;
    api.jobs
      .artifacts(jobId)
      .then((list) => {
        if (!alive) return;
        setFiles(list);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!alive) return;
        const missing = e instanceof ApiError && e.status === 404;
        setError(missing ? null : String(e instanceof Error ? e.message : e));
        if (missing) setFiles([]);
      });
    return () => {
      alive = false;
    };
  }, [jobId, version]);

  const tree = useMemo(() => buildTree(files ?? []), [files]);
  const toggle = (path: string) =>
    setCollapsed((old) => {
      const next = new Set(old);
      if (next.has(path)) next.delete(path);
      else next.add(path);
      return next;
    });

  if (error) return <p className="text-sm text-destructive-ink">Result files could not be listed: {error}</p>;
  if (!files) return <p className="text-sm text-muted-foreground">Loading result files…</p>;
  if (files.length === 0) {
    return (
      <p className="text-sm text-muted-foreground">No result files yet. They appear as tasks complete.</p>
    );
  }
  const chosen = selected && files.some((f) => f.path === selected) ? selected : null;
  return (
    <div className="grid gap-4 lg:grid-cols-[minmax(0,20rem)_minmax(0,1fr)]" data-testid="artifacts">
      <div className="min-w-0 space-y-3">
        <nav aria-label="Result files" className="rounded-xl border bg-card p-2" data-testid="file-tree">
          <Nodes
            nodes={tree}
            depth={0}
            jobId={jobId}
            selected={chosen}
            collapsed={collapsed}
            onToggle={toggle}
            onSelect={setSelected}
          />
        </nav>
        <Button variant="outline" size="sm" asChild>
          <a href={api.jobs.artifactsZipUrl(jobId)} download={`${jobId}.zip`}>
            <Download /> Download all (.zip)
          </a>
        </Button>
      </div>
      <div className="min-w-0">
        {chosen ? (
          <FileViewer key={chosen} jobId={jobId} path={chosen} version={version} />
        ) : (
          <p className="rounded-xl border border-dashed p-4 text-sm text-muted-foreground">
            Choose a file to see its contents, who wrote each version, and what each version changed.
          </p>
        )}
      </div>
    </div>
  );
}
