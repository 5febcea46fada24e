"use client";

import { CopyPlus, Loader2, Play } from "lucide-react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";

import { ConfirmCancel, ConfirmDelete } from "@/components/confirm-action";
import { InlineError } from "@/components/error-state";
import { ResumeDialog } from "@/components/resume-dialog";
import { Button } from "@/components/ui/button";
import { ApiError, api, type ResumeBody } from "@/lib/api";
import { isActive, nextAction } from "@/lib/status";

type Busy = "resume" | "cancel" | "delete" | null;

/** What a failed action says: the server's own reason for a 409 (e.g. nothing to run). */
export function actionMessage(e: unknown, action: string): string {
  if (!(e instanceof ApiError)) return `Could not ${action}: ${String(e)}`;
  if (e.status === 409) return `Cannot ${action} now: ${e.message}`;
  if (e.status === 404) return `Cannot ${action}: the job no longer exists.`;
  return `Could not ${action}: ${e.message}`;
}

export interface ActionJob {
  job_id: string;
  project_description: string;
  status: string;
  final_status?: string | null;
  total_cost: number;
  budget_usd: number;
  time_limit_s: number;
}

/** "Duplicate and edit": the New Job form, filled in from this job. */
export function DuplicateLink({ jobId, size = "sm" }: { jobId: string; size?: "sm" | "default" }) {
  return (
    <Button variant="outline" size={size} asChild>
      <Link href={`/new/?from=${encodeURIComponent(jobId)}`} aria-label={`Duplicate and edit job ${jobId}`}>
        <CopyPlus /> Duplicate and edit
      </Link>
    </Button>
  );
}

/** The actions that fit the job's state; every failure is said next to the buttons. */
export function JobActions({
  job,
  spent,
  onChanged,
}: {
  job: ActionJob;
  spent: number;
  onChanged: (action: "resume" | "cancel") => void;
}) {
  const router = useRouter();
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<string | null>(null);
  const next = nextAction(job.status, job.final_status);
  const jobId = job.job_id;

  const run = async (action: Exclude<Busy, null>, call: () => Promise<unknown>, after: () => void) => {
    setBusy(action);
    setError(null);
    try {
      await call();
      after();
    } catch (e) {
      setError(actionMessage(e, action));
    } finally {
      setBusy(null);
    }
  };

  // In the dialog, a refused resume is said there (the dialog stays open).
  const resumeWith = async (body: ResumeBody | undefined) => {
    try {
      await api.jobs.resume(jobId, body);
    } catch (e) {
      throw new Error(actionMessage(e, "resume"));
    }
    setError(null);
    onChanged("resume");
  };

  return (
    <div className="space-y-2" data-testid="job-actions" data-next={next}>
      <div className="flex flex-wrap gap-2">
        {next === "cancel" && (
          <ConfirmCancel
            jobId={jobId}
            description={job.project_description}
            disabled={busy !== null}
            onConfirm={() =>
              run(
                "cancel",
                () => api.jobs.cancel(jobId),
                () => onChanged("cancel"),
              )
            }
          />
        )}
        {next === "resume" && (
          <Button
            variant="outline"
            size="sm"
            disabled={busy !== null}
            onClick={() =>
              run(
                "resume",
                () => api.jobs.resume(jobId),
                () => onChanged("resume"),
              )
            }
          >
            {busy === "resume" ? <Loader2 className="animate-spin" /> : <Play />} Resume
          </Button>
        )}
        {(next === "more-budget" || next === "more-time") && (
          <ResumeDialog
            jobId={jobId}
            kind={next}
            spent={spent}
            budget={job.budget_usd}
            timeLimitS={job.time_limit_s}
            disabled={busy !== null}
            onResume={resumeWith}
          />
        )}
        {next !== "cancel" && <DuplicateLink jobId={jobId} />}
        <ConfirmDelete
          jobId={jobId}
          description={job.project_description}
          active={isActive(job.status)}
          disabled={busy !== null}
          onConfirm={() =>
            run(
              "delete",
              () => api.jobs.remove(jobId),
              () => router.push("/history/"),
            )
          }
        />
      </div>
      <InlineError message={error} />
    </div>
  );
}
