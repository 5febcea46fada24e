"use client";

import { Loader2, Play, Square } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";

import { ConfirmDelete } from "@/components/confirm-delete";
import { InlineError } from "@/components/error-state";
import { Button } from "@/components/ui/button";
import { ApiError, api } from "@/lib/api";
import { isActive } from "@/lib/status";

type Busy = "resume" | "cancel" | "delete" | null;

function message(e: unknown, action: string): string {
  if (!(e instanceof ApiError)) return `Could not ${action}: ${String(e)}`;
  if (e.status === 409) return `Cannot ${action} now: ${e.message}`;
  if (e.status === 404) return `Cannot ${action}: the job no longer exists.`;
  return `Could not ${action}: ${e.message}`;
}

/** Resume, Cancel and Delete; every failure is said next to the buttons. */
export function JobActions({
  jobId,
  description,
  status,
  onChanged,
}: {
  jobId: string;
  description: string;
  status: string;
  onChanged: (action: "resume" | "cancel") => void;
}) {
  const router = useRouter();
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<string | null>(null);
  const active = isActive(status);

  const run = async (action: Exclude<Busy, null>, call: () => Promise<unknown>, after: () => void) => {
    setBusy(action);
    setError(null);
    try {
      await call();
      after();
    } catch (e) {
      setError(message(e, action));
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="space-y-2">
      <div className="flex flex-wrap gap-2">
        {active ? (
          <Button
            variant="outline"
            size="sm"
            disabled={busy !== null || status === "cancelling"}
            onClick={() =>
              run(
                "cancel",
                () => api.jobs.cancel(jobId),
                () => onChanged("cancel"),
              )
            }
          >
            {busy === "cancel" ? <Loader2 className="animate-spin" /> : <Square />} Cancel
          </Button>
        ) : (
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
        <ConfirmDelete
          jobId={jobId}
          description={description}
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
