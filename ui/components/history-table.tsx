"use client";

import { Loader2, Play } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";

import { ConfirmDelete } from "@/components/confirm-delete";
import { JobStatusBadge } from "@/components/status-badge";
import { Button } from "@/components/ui/button";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { ApiError, api, type JobSummary } from "@/lib/api";
import { dateTime, title, usd } from "@/lib/format";
import { isActive } from "@/lib/status";

/** Past jobs; a row opens its job; Resume and Delete act in place and say why they failed. */
export function HistoryTable({ jobs, onChanged }: { jobs: JobSummary[]; onChanged: () => void }) {
  const router = useRouter();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<{ id: string; msg: string } | null>(null);
  const open = (id: string) => router.push(`/jobs/${id}/`);

  const act = async (id: string, action: "resume" | "delete") => {
    setBusy(id);
    setError(null);
    try {
      if (action === "resume") {
        await api.jobs.resume(id);
        open(id);
      } else {
        await api.jobs.remove(id);
        onChanged();
      }
    } catch (e) {
      const msg = e instanceof ApiError ? e.message : String(e);
      setError({ id, msg: `Could not ${action} ${id}: ${msg}` });
    } finally {
      setBusy(null);
    }
  };

  return (
    <Table data-testid="history-table">
      <TableHeader>
        <TableRow>
          <TableHead>ID</TableHead>
          <TableHead>Description</TableHead>
          <TableHead>Status</TableHead>
          <TableHead className="text-right">Cost</TableHead>
          <TableHead>Date</TableHead>
          <TableHead>Actions</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {jobs.map((j) => (
          <TableRow
            key={j.job_id}
            className="cursor-pointer"
            onClick={() => open(j.job_id)}
            data-testid="history-row"
            data-job-id={j.job_id}
          >
            <TableCell className="font-mono text-xs">
              {/* The link makes the row reachable by keyboard; the row click is for the mouse. */}
              <a
                href={`/jobs/${j.job_id}/`}
                onClick={(e) => {
                  e.preventDefault();
                  e.stopPropagation();
                  open(j.job_id);
                }}
                className="rounded-sm underline-offset-4 outline-none hover:underline focus-visible:ring-[3px] focus-visible:ring-ring"
              >
                {j.job_id}
              </a>
            </TableCell>
            <TableCell className="max-w-md">
              <span className="line-clamp-1" title={j.project_description}>
                {title(j.project_description, 100)}
              </span>
              {error?.id === j.job_id && (
                <span role="alert" className="block text-xs text-destructive-ink">
                  {error.msg}
                </span>
              )}
            </TableCell>
            <TableCell>
              <JobStatusBadge status={j.status} finalStatus={j.final_status} />
            </TableCell>
            <TableCell className="text-right tabular-nums">{usd(j.total_cost)}</TableCell>
            <TableCell className="text-xs whitespace-nowrap">{dateTime(j.created_at)}</TableCell>
            <TableCell onClick={(e) => e.stopPropagation()}>
              <div className="flex gap-1">
                <Button
                  size="sm"
                  variant="outline"
                  disabled={busy === j.job_id || isActive(j.status)}
                  onClick={() => act(j.job_id, "resume")}
                  aria-label={`Resume job ${j.job_id}`}
                  title={isActive(j.status) ? "Already running" : "Resume"}
                >
                  {busy === j.job_id ? <Loader2 className="animate-spin" /> : <Play />} Resume
                </Button>
                <ConfirmDelete
                  jobId={j.job_id}
                  description={j.project_description}
                  disabled={busy === j.job_id}
                  onConfirm={() => act(j.job_id, "delete")}
                />
              </div>
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
