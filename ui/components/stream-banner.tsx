import { RefreshCw, WifiOff } from "lucide-react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import type { StreamState } from "@/lib/sse";

/** Says so when the live stream dropped, and offers to reconnect now. */
export function StreamBanner({
  state,
  retryIn,
  onReconnect,
}: {
  state: StreamState;
  retryIn: number;
  onReconnect: () => void;
}) {
  if (state !== "reconnecting") return null;
  return (
    <Alert variant="warning" data-testid="stream-banner">
      <WifiOff />
      <AlertTitle>Live updates interrupted</AlertTitle>
      <AlertDescription>
        <p>
          The connection to the server dropped. Reconnecting{retryIn > 0 ? ` in ${retryIn}s` : "…"} — nothing
          is lost: the log resumes from the last line received.
        </p>
        <Button size="sm" variant="outline" onClick={onReconnect} className="mt-1">
          <RefreshCw /> Reconnect now
        </Button>
      </AlertDescription>
    </Alert>
  );
}
