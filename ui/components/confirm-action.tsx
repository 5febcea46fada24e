"use client";

import { Square, Trash2, X } from "lucide-react";
import type * as React from "react";

import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
  AlertDialogTrigger,
} from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import { title } from "@/lib/format";

const stop = (e: React.SyntheticEvent) => e.stopPropagation();

/** A button that asks first, in an accessible dialog that says what will happen. */
function ConfirmAction({
  trigger,
  triggerLabel,
  variant,
  heading,
  children,
  confirm,
  keep,
  onConfirm,
  disabled,
  testId,
}: {
  trigger: React.ReactNode;
  triggerLabel: string;
  variant: "destructive" | "outline";
  heading: string;
  children: React.ReactNode;
  confirm: string;
  keep: string;
  onConfirm: () => void;
  disabled?: boolean;
  testId: string;
}) {
  return (
    <AlertDialog>
      <AlertDialogTrigger asChild>
        <Button variant={variant} size="sm" disabled={disabled} onClick={stop} aria-label={triggerLabel}>
          {trigger}
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent onClick={stop}>
        <AlertDialogHeader>
          <AlertDialogTitle>{heading}</AlertDialogTitle>
          <AlertDialogDescription>{children}</AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>{keep}</AlertDialogCancel>
          <AlertDialogAction onClick={onConfirm} data-testid={testId}>
            {confirm}
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}

interface JobRef {
  jobId: string;
  description: string;
  onConfirm: () => void;
  disabled?: boolean;
}

/** Delete, naming the job; a running job is cancelled first, and the dialog says so. */
export function ConfirmDelete({
  jobId,
  description,
  onConfirm,
  disabled,
  active,
}: JobRef & { active: boolean }) {
  return (
    <ConfirmAction
      trigger={
        <>
          <Trash2 /> Delete
        </>
      }
      triggerLabel={`Delete job ${jobId}`}
      variant="destructive"
      heading={`Delete job ${jobId}?`}
      confirm={active ? "Cancel and delete" : "Delete"}
      keep="Keep it"
      onConfirm={onConfirm}
      disabled={disabled}
      testId="confirm-delete"
    >
      {active && "It is still running: it is cancelled first (calls in flight finish and are paid). "}“
      {title(description, 140)}” and its tasks, log and result files will be removed for good.
    </ConfirmAction>
  );
}

/** Cancel, saying what stops and what stays. */
export function ConfirmCancel({ jobId, description, onConfirm, disabled }: JobRef) {
  return (
    <ConfirmAction
      trigger={
        <>
          <Square /> Cancel
        </>
      }
      triggerLabel={`Cancel job ${jobId}`}
      variant="outline"
      heading={`Cancel job ${jobId}?`}
      confirm="Cancel the job"
      keep="Keep running"
      onConfirm={onConfirm}
      disabled={disabled}
      testId="confirm-cancel"
    >
      No new model call starts for “{title(description, 140)}”; calls already in flight finish and are paid.
      Finished tasks and their files stay, and you can resume the job later.
    </ConfirmAction>
  );
}

/** Reject a plan under review, saying that nothing of it runs and what was paid. */
export function ConfirmReject({
  jobId,
  spent,
  onConfirm,
  disabled,
}: {
  jobId: string;
  /** What the planning cost, formatted. */
  spent: string;
  onConfirm: () => void;
  disabled?: boolean;
}) {
  return (
    <ConfirmAction
      trigger={
        <>
          <X /> Reject
        </>
      }
      triggerLabel={`Reject the plan of job ${jobId}`}
      variant="outline"
      heading={`Reject the plan of job ${jobId}?`}
      confirm="Reject the plan"
      keep="Keep reviewing"
      onConfirm={onConfirm}
      disabled={disabled}
      testId="confirm-reject"
    >
      No task of it runs: the job ends cancelled, having paid {spent} for its planning. It cannot be approved
      afterwards; a new job plans again.
    </ConfirmAction>
  );
}
