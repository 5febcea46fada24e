"use client";

import { Loader2, Play } from "lucide-react";
import { type FormEvent, useId, useState } from "react";

import { InlineError } from "@/components/error-state";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import type { ResumeBody } from "@/lib/api";
import { duration, usd, usdExact } from "@/lib/format";
import { formatDuration, LIMITS, parseDuration } from "@/lib/job-spec";

/** A new cap that gives the rest of the job room: the old one doubled, at least +$0.50. */
export function suggestedBudget(budget: number): number {
  return Math.round(Math.max(budget * 2, budget + 0.5) * 100) / 100;
}

/**
 * "Resume with more budget / time": asks how much, with the spend so far in view, and sends
 * the new cap (and, for a job out of time, the new time limit of a run) with the resume.
 */
export function ResumeDialog({
  jobId,
  kind,
  spent,
  budget,
  timeLimitS,
  disabled,
  onResume,
}: {
  jobId: string;
  kind: "more-budget" | "more-time";
  spent: number;
  budget: number;
  timeLimitS: number;
  disabled?: boolean;
  /** Resolves when the resume was accepted; a rejection's message is shown in the dialog. */
  onResume: (body: ResumeBody | undefined) => Promise<void>;
}) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState("");
  const [limit, setLimit] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const label = kind === "more-budget" ? "Resume with more budget" : "Resume with more time";

  const show = (next: boolean) => {
    setOpen(next);
    if (next) {
      setValue(kind === "more-budget" ? String(suggestedBudget(budget)) : String(budget));
      setLimit(formatDuration(Math.min(timeLimitS * 2, LIMITS.timeLimitMax)));
      setError(null);
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n))
      return setError("The budget must be a number of dollars.");
    if (n <= spent) return setError(`The budget must be more than the ${usd(spent)} already spent.`);
    if (n > LIMITS.budgetMax) return setError(`The budget must be at most ${usdExact(LIMITS.budgetMax)}.`);
    const seconds = kind === "more-time" ? parseDuration(limit) : null;
    if (kind === "more-time" && (seconds === null || seconds <= 0))
      return setError('The time limit must be minutes ("90") or a duration ("1h 30m").');
    if (seconds !== null && seconds > LIMITS.timeLimitMax)
      return setError(`The time limit must be at most ${formatDuration(LIMITS.timeLimitMax)}.`);
    const body: ResumeBody = {};
    if (n !== budget) body.budget_usd = n;
    if (seconds !== null && seconds !== timeLimitS) body.time_limit_s = seconds;
    setBusy(true);
    setError(null);
    try {
      await onResume(Object.keys(body).length ? body : undefined);
      setOpen(false);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onOpenChange={show}>
      <DialogTrigger asChild>
        <Button variant="default" size="sm" disabled={disabled} aria-label={`${label}: job ${jobId}`}>
          <Play /> {label}
        </Button>
      </DialogTrigger>
      <DialogContent data-testid="resume-dialog" className="sm:max-w-md">
        <form onSubmit={submit} noValidate className="space-y-4">
          <DialogHeader>
            <DialogTitle>{label}</DialogTitle>
            <DialogDescription>
              {kind === "more-budget"
                ? `Job ${jobId} stopped at its ${usdExact(budget)} cap after spending ${usd(spent)}. Its unfinished tasks run again; finished ones and recorded calls are not paid twice.`
                : `Job ${jobId} ran out of its ${duration(timeLimitS)} time limit. Its unfinished tasks run again with the time limit you set; ${usd(spent)} of ${usdExact(budget)} is spent so far.`}
            </DialogDescription>
          </DialogHeader>
          {kind === "more-time" && (
            <div className="flex flex-col gap-1.5">
              <Label htmlFor={`${id}-limit`}>New time limit of a run</Label>
              <Input
                id={`${id}-limit`}
                name="time_limit_s"
                value={limit}
                onChange={(e) => setLimit(e.target.value)}
                aria-invalid={error ? true : undefined}
                aria-describedby={`${id}-limit-hint`}
                autoFocus
              />
              <p id={`${id}-limit-hint`} className="text-xs text-muted-foreground">
                Minutes (&quot;90&quot;) or a duration (&quot;1h 30m&quot;); it was {duration(timeLimitS)}.
              </p>
            </div>
          )}
          <div className="flex flex-col gap-1.5">
            <Label htmlFor={`${id}-budget`}>New budget (USD)</Label>
            <Input
              id={`${id}-budget`}
              name="budget_usd"
              type="number"
              inputMode="decimal"
              step="any"
              min={spent}
              value={value}
              onChange={(e) => setValue(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={`${id}-hint`}
              autoFocus={kind === "more-budget"}
            />
            <p id={`${id}-hint`} className="text-xs text-muted-foreground">
              Spent so far: {usd(spent)} of {usdExact(budget)}.
            </p>
          </div>
          <InlineError message={error} />
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => setOpen(false)}>
              Not now
            </Button>
            <Button type="submit" disabled={busy} data-testid="confirm-resume">
              {busy ? <Loader2 className="animate-spin" /> : <Play />} Resume
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
