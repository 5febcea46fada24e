"use client";

import { Loader2, Play } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";

import { ConfirmCancel, ConfirmDelete } from "@/components/confirm-action";
import { actionMessage, DuplicateLink } from "@/components/job-actions";
import { ResumeDialog } from "@/components/resume-dialog";
import { JobStatusBadge } from "@/components/status-badge";
import { Button } from "@/components/ui/button";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { api, type JobSummary, type ResumeBody } from "@/lib/api";
import { dateTime, title, usd } from "@/lib/format";
import { isActive, nextAction } from "@/lib/status";

/** Past jobs; a row opens its job; Resume and Delete act in place and say why they failed. */
export function HistoryTable({ jobs, onChanged }: { jobs: JobSummary[]; onChanged: () => void }) {
  const router = useRouter();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<{ id: string; msg: string } | null>(null);
  const open = (id: string) => router.push(`/jobs/${id}/`);

  const act = async (id: string, action: "resume" | "delete" | "cancel") => {
    setBusy(id);
    setError(null);
    try {
      if (action === "resume") {
        await api.jobs.resume(id);
        open(id);
      } else if (action === "cancel") {
        await api.jobs.cancel(id);
        onChanged();
      } else {
        await api.jobs.remove(id);
        onChanged();
      }
    } catch (e) {
      setError({ id, msg: `${actionMessage(e, action)} (job ${id})` });
    } finally {
      setBusy(null);
    }
  };

  const resumeWith = (id: string) => async (body: ResumeBody | undefined) => {
    try {
      await api.jobs.resume(id, body);
    } catch (e) {
      throw new Error(actionMessage(e, "resume"));
    }
    open(id);
  };

  return (
    // On a phone each row stacks: description, then status and cost, then the actions.
    <Table data-testid="history-table" className="max-md:block">
      <TableHeader className="max-md:sr-only">
        <TableRow>
          <TableHead>ID</TableHead>
          <TableHead>Description</TableHead>
          <TableHead>Status</TableHead>
          <TableHead className="text-right">Cost</TableHead>
          <TableHead>Date</TableHead>
          <TableHead>Actions</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody className="max-md:block">
        {jobs.map((j) => (
          <TableRow
            key={j.job_id}
            className="cursor-pointer max-md:grid max-md:grid-cols-[1fr_auto] max-md:items-center max-md:gap-x-3 max-md:gap-y-1 max-md:py-2"
            onClick={() => open(j.job_id)}
            data-testid="history-row"
            data-job-id={j.job_id}
          >
            <TableCell className="font-mono text-xs max-md:order-1 max-md:p-0">
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
            <TableCell className="max-w-md max-md:order-first max-md:col-span-2 max-md:max-w-none max-md:p-0">
              <span className="line-clamp-1" title={j.project_description}>
                {title(j.project_description, 100)}
              </span>
              {error?.id === j.job_id && (
                <span role="alert" className="block text-xs text-destructive-ink">
                  {error.msg}
                </span>
              )}
            </TableCell>
            <TableCell className="max-md:p-0">
              <JobStatusBadge status={j.status} finalStatus={j.final_status} />
            </TableCell>
            <TableCell className="text-right tabular-nums max-md:p-0" data-testid="row-cost">
              {usd(j.total_cost)}
            </TableCell>
            <TableCell className="text-xs whitespace-nowrap max-md:order-2 max-md:p-0 max-md:text-right">
              {dateTime(j.created_at)}
            </TableCell>
            <TableCell onClick={(e) => e.stopPropagation()} className="max-md:col-span-2 max-md:p-0">
              <RowActions
                job={j}
                busy={busy === j.job_id}
                act={(action) => act(j.job_id, action)}
                resumeWith={resumeWith(j.job_id)}
              />
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function RowActions({
  job,
  busy,
  act,
  resumeWith,
}: {
  job: JobSummary;
  busy: boolean;
  act: (action: "resume" | "delete" | "cancel") => void;
  resumeWith: (body: ResumeBody | undefined) => Promise<void>;
}) {
  const next = nextAction(job.status, job.final_status);
  return (
    <div className="flex flex-wrap gap-1" data-testid="row-actions" data-next={next}>
      {next === "cancel" && (
        <ConfirmCancel
          jobId={job.job_id}
          description={job.project_description}
          disabled={busy}
          onConfirm={() => act("cancel")}
        />
      )}
      {next === "resume" && (
        <Button
          size="sm"
          variant="outline"
          disabled={busy}
          onClick={() => act("resume")}
          aria-label={`Resume job ${job.job_id}`}
        >
          {busy ? <Loader2 className="animate-spin" /> : <Play />} Resume
        </Button>
      )}
      {(next === "more-budget" || next === "more-time") && (
        <ResumeDialog
          jobId={job.job_id}
          kind={next}
          spent={job.total_cost}
          budget={job.budget_usd}
          timeLimitS={job.time_limit_s}
          disabled={busy}
          onResume={resumeWith}
        />
      )}
      {next === "duplicate" && <DuplicateLink jobId={job.job_id} />}
      <ConfirmDelete
        jobId={job.job_id}
        description={job.project_description}
        active={isActive(job.status)}
        disabled={busy}
        onConfirm={() => act("delete")}
      />
    </div>
  );
}
