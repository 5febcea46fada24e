"use client";

import { Trash2 } from "lucide-react";
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

/** Delete button that asks first, naming the job, in an accessible dialog. */
export function ConfirmDelete({
  jobId,
  description,
  onConfirm,
  disabled,
  size = "sm",
}: {
  jobId: string;
  description: string;
  onConfirm: () => void;
  disabled?: boolean;
  size?: "sm" | "default";
}) {
  const stop = (e: React.SyntheticEvent) => e.stopPropagation();
  return (
    <AlertDialog>
      <AlertDialogTrigger asChild>
        <Button
          variant="destructive"
          size={size}
          disabled={disabled}
          onClick={stop}
          aria-label={`Delete job ${jobId}`}
        >
          <Trash2 /> Delete
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent onClick={stop}>
        <AlertDialogHeader>
          <AlertDialogTitle>Delete job {jobId}?</AlertDialogTitle>
          <AlertDialogDescription>
            “{description.length > 140 ? `${description.slice(0, 139)}…` : description}” and its tasks, log
            and result files will be removed for good.
          </AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>Keep it</AlertDialogCancel>
          <AlertDialogAction onClick={onConfirm} data-testid="confirm-delete">
            Delete
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}
