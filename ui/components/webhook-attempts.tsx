"use client";

import { useEffect, useState } from "react";

import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { api, type WebhookAttempt } from "@/lib/api";
import { clock } from "@/lib/format";

const OUTCOME: Record<WebhookAttempt["outcome"], string> = {
  delivered: "delivered",
  retrying: "failed, will retry",
  failed: "failed, gave up",
  gone: "410 Gone: no more",
  refused: "not sent",
};

/** Every attempt to deliver the job's webhooks: answer, time and next retry. Shows nothing
 * for a job without webhooks. Reloaded when the job changes state. */
export function WebhookAttempts({ jobId, version }: { jobId: string; version: string }) {
  const [attempts, setAttempts] = useState<WebhookAttempt[]>([]);

  useEffect(() => {
    let alive = true;
    api.jobs
      .webhooks(jobId)
      .then((list) => {
        if (alive) setAttempts(list);
      })
      .catch(() => {
        // An older server has no such route: the section stays hidden.
      });
    return () => {
      alive = false;
    };
  }, [jobId, version]);

  if (attempts.length === 0) return null;
  return (
    <section aria-labelledby="webhooks-title" data-testid="webhook-attempts">
      <h2 id="webhooks-title" className="mb-2 font-semibold">
        Webhooks
      </h2>
      <Table>
        <TableHeader>
          <TableRow>
            <TableHead>Event</TableHead>
            <TableHead>Endpoint</TableHead>
            <TableHead>Attempt</TableHead>
            <TableHead>Answer</TableHead>
            <TableHead>Outcome</TableHead>
            <TableHead>At</TableHead>
            <TableHead>Next retry</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {attempts.map((a) => (
            <TableRow key={`${a.webhook_id}:${a.attempt}`}>
              <TableCell className="font-mono text-xs">{a.event}</TableCell>
              <TableCell className="max-w-64 truncate font-mono text-xs" title={a.url}>
                {a.url}
              </TableCell>
              <TableCell className="tabular-nums">{a.attempt}</TableCell>
              <TableCell className="tabular-nums" title={a.error || undefined}>
                {a.status_code ?? "no answer"}
              </TableCell>
              <TableCell>{OUTCOME[a.outcome]}</TableCell>
              <TableCell className="tabular-nums">{clock(a.at)}</TableCell>
              <TableCell className="tabular-nums">{a.next_at ? clock(a.next_at) : "—"}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </section>
  );
}
