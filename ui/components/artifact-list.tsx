"use client";

import { Download, FileText } from "lucide-react";
import { useEffect, useState } from "react";

import { Button } from "@/components/ui/button";
import { ApiError, type Artifact, api } from "@/lib/api";
import { bytes } from "@/lib/format";

/** Result files of a job, with the zip download. Reloaded when the job changes state. */
export function ArtifactList({ jobId, version }: { jobId: string; version: string }) {
  const [files, setFiles] = useState<Artifact[] | null>(null);
  const [error, setError] = useState<string | null>(null);

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
        setError(
          e instanceof ApiError && e.status === 404 ? null : String(e instanceof Error ? e.message : e),
        );
        if (e instanceof ApiError && e.status === 404) setFiles([]);
      });
    return () => {
      alive = false;
    };
  }, [jobId, version]);

  if (error) return <p className="text-sm text-destructive-ink">Result files could not be listed: {error}</p>;
  if (!files) return <p className="text-sm text-muted-foreground">Loading result files…</p>;
  if (files.length === 0) {
    return (
      <p className="text-sm text-muted-foreground">No result files yet. They appear as tasks complete.</p>
    );
  }
  return (
    <div className="space-y-3" data-testid="artifacts">
      <ul className="divide-y rounded-xl border bg-card">
        {files.map((f) => (
          <li key={f.path} className="flex items-center gap-3 px-4 py-2 text-sm">
            <FileText className="size-4 shrink-0 text-muted-foreground" />
            <a
              href={api.jobs.artifactUrl(jobId, f.path)}
              target="_blank"
              rel="noreferrer"
              className="min-w-0 flex-1 truncate rounded-sm font-mono text-xs underline-offset-4 outline-none hover:underline focus-visible:ring-[3px] focus-visible:ring-ring"
              title={`Open ${f.path}`}
            >
              {f.path}
            </a>
            <span className="text-xs text-muted-foreground tabular-nums">{bytes(f.size)}</span>
          </li>
        ))}
      </ul>
      <Button variant="outline" size="sm" asChild>
        <a href={api.jobs.artifactsZipUrl(jobId)} download={`${jobId}.zip`}>
          <Download /> Download all (.zip)
        </a>
      </Button>
    </div>
  );
}
