import { AlertTriangle, RefreshCw, WifiOff } from "lucide-react";
import Link from "next/link";
import type * as React from "react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import type { ApiError } from "@/lib/api";

/** A failed load, said plainly, with a way on: retry, or somewhere else to go. */
export function ErrorState({
  error,
  onRetry,
  title,
  description,
  children,
}: {
  error: ApiError;
  onRetry?: () => void;
  title?: string;
  /** Said instead of the server's message, when the title already says that. */
  description?: string;
  children?: React.ReactNode;
}) {
  const Icon = error.unreachable ? WifiOff : AlertTriangle;
  return (
    <Alert variant="destructive" data-testid="error-state">
      <Icon />
      <AlertTitle>
        {title ?? (error.unreachable ? "The orchestrator API is not reachable" : "Something went wrong")}
      </AlertTitle>
      <AlertDescription>
        <p>{description ?? error.message}</p>
        <div className="mt-2 flex flex-wrap gap-2">
          {onRetry && (
            <Button size="sm" variant="outline" onClick={onRetry}>
              <RefreshCw /> Try again
            </Button>
          )}
          {children ?? (
            <Button size="sm" variant="ghost" asChild>
              <Link href="/">Go to the dashboard</Link>
            </Button>
          )}
        </div>
      </AlertDescription>
    </Alert>
  );
}

/** One-line error under a control (an action that failed: 409, 404, ...). */
export function InlineError({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p role="alert" className="text-sm text-destructive-ink">
      {message}
    </p>
  );
}
