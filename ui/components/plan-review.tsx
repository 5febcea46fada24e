"use client";

// The plan of a job with its cost forecast. While the job awaits review: every task's prompt,
// type, model and dependencies can be edited (each edit is sent after a pause and the forecast
// comes back), then the plan is approved (optionally with a new budget) or rejected. Once the
// job runs or ended: the forecast against what each task actually cost.
import { Check, Loader2, Plus, Trash2 } from "lucide-react";
import { useEffect, useMemo, useRef, useState } from "react";

import { ConfirmReject } from "@/components/confirm-action";
import { ForecastBar } from "@/components/forecast-bar";
import { Button } from "@/components/ui/button";
import { Input, NativeSelect, Textarea } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { ApiError, type JobPlan, type PlanEdit, api } from "@/lib/api";
import { usd } from "@/lib/format";

type Draft = PlanEdit["tasks"];
type Save = "saved" | "waiting" | "saving" | "error";

const TYPES = [
  "code_generation",
  "code_review",
  "complex_reasoning",
  "creative_writing",
  "data_extraction",
  "summarization",
  "evaluation",
] as const;
const SAVE_AFTER_MS = 600;

function draftOf(plan: JobPlan): Draft {
  return plan.tasks.map((t) => ({
    id: t.id,
    title: t.title,
    type: t.type,
    prompt: t.prompt,
    dependencies: t.dependencies,
    model: t.pinned_model,
  }));
}

function range(r: { low: number; high: number }): string {
  return `${usd(r.low)}–${usd(r.high)}`;
}

function nextId(draft: Draft): string {
  for (let n = draft.length + 1; ; n++) {
    const id = `task_${String(n).padStart(3, "0")}`;
    if (!draft.some((t) => t.id === id)) return id;
  }
}

export function PlanReview({
  jobId,
  editable,
  version,
  onDecided,
}: {
  jobId: string;
  /** The job awaits review: edit, approve, reject. */
  editable: boolean;
  /** Changes when the plan, its forecast or the tasks' costs may have changed. */
  version: string;
  onDecided: () => void;
}) {
  const [plan, setPlan] = useState<JobPlan | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [save, setSave] = useState<Save>("saved");
  const [error, setError] = useState<string | null>(null);
  const [models, setModels] = useState<string[]>([]);
  const [budget, setBudget] = useState("");
  const [deciding, setDeciding] = useState(false);
  const sent = useRef<string>("");

  useEffect(() => {
    let alive = true;
    api.jobs
      .plan(jobId)
      .then((p) => {
        if (!alive) return;
        setPlan(p);
        if (save === "saved") {
          setDraft(draftOf(p));
          sent.current = JSON.stringify(draftOf(p));
        }
      })
      .catch((e) => alive && setError(e instanceof ApiError ? e.message : String(e)));
    return () => {
      alive = false;
    };
    // The draft is the reviewer's: a new version of the plan replaces it only when saved.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [jobId, version]);

  useEffect(() => {
    if (!editable) return;
    api.models
      .list()
      .then((all) => setModels(all.map((m) => m.model).sort()))
      .catch(() => setModels([]));
  }, [editable]);

  // An edit is sent once typing pauses; the answer brings the new forecast (or why not).
  useEffect(() => {
    if (!editable || draft === null) return;
    const body = JSON.stringify(draft);
    if (body === sent.current) return;
    setSave("waiting");
    const timer = setTimeout(() => {
      setSave("saving");
      sent.current = body;
      api.jobs
        .editPlan(jobId, { tasks: draft })
        .then((p) => {
          setPlan(p);
          setError(null);
          setSave("saved");
        })
        .catch((e) => {
          setError(e instanceof ApiError ? e.message : String(e));
          setSave("error");
        });
    }, SAVE_AFTER_MS);
    return () => clearTimeout(timer);
  }, [draft, editable, jobId]);

  const byId = useMemo(() => new Map((plan?.tasks ?? []).map((t) => [t.id, t])), [plan]);

  if (!plan || !draft) {
    return error ? <p className="text-sm text-destructive-ink">{error}</p> : null;
  }

  const edit = (i: number, change: Partial<Draft[number]>) =>
    setDraft((d) => d && d.map((t, j) => (j === i ? { ...t, ...change } : t)));
  const remove = (i: number) => setDraft((d) => d && d.filter((_, j) => j !== i));
  const add = () =>
    setDraft(
      (d) =>
        d && [
          ...d,
          { id: nextId(d), title: "", type: "complex_reasoning", prompt: "", dependencies: [], model: null },
        ],
    );

  const decide = async (what: "approve" | "reject") => {
    setDeciding(true);
    try {
      if (what === "approve") {
        const amount = budget.trim() === "" ? undefined : Number(budget);
        await api.jobs.approve(jobId, amount);
      } else {
        await api.jobs.reject(jobId);
      }
      onDecided();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setDeciding(false);
    }
  };

  const blocked = save !== "saved" ? "Wait for the plan to be saved (or fix it) before approving." : null;
  const spentByTasks = plan.tasks.reduce((sum, t) => sum + t.cost, 0);
  // Read-only on a phone: task, forecast and actual fit; the rest would scroll sideways.
  const narrow = editable ? undefined : "hidden sm:table-cell";

  return (
    <section aria-labelledby="plan-title" className="space-y-3" data-testid="plan-review">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="plan-title" className="font-semibold">
          {editable ? "Review the plan" : "Forecast and actual cost"}
        </h2>
        <span className="text-xs text-muted-foreground" data-testid="forecast-basis">
          {plan.forecast.basis}
        </span>
      </div>
      <ForecastBar forecast={plan.forecast} spent={plan.spent_usd} budget={plan.budget_usd} />
      {!editable && (
        <p className="text-sm" data-testid="forecast-vs-actual">
          Tasks so far: <span className="tabular-nums">{usd(spentByTasks)}</span> against a forecast of{" "}
          <span className="tabular-nums">{range(plan.forecast)}</span>.
        </p>
      )}
      <div>
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Task</TableHead>
              <TableHead className={narrow}>Type</TableHead>
              <TableHead className={narrow}>Model</TableHead>
              <TableHead className={narrow}>{editable ? "After" : "Status"}</TableHead>
              <TableHead className="text-right">Forecast</TableHead>
              {!editable && <TableHead className="text-right">Actual</TableHead>}
            </TableRow>
          </TableHeader>
          <TableBody>
            {draft.map((t, i) => {
              const known = byId.get(t.id);
              const forecast = known ? range(known.forecast) : "—";
              if (!editable) {
                return (
                  <TableRow key={t.id} data-testid={`plan-row-${t.id}`}>
                    <TableCell className="max-w-36 truncate sm:max-w-72" title={t.prompt}>
                      <span className="font-mono text-xs">{t.id}</span> {t.title}
                    </TableCell>
                    <TableCell className={narrow}>{t.type}</TableCell>
                    <TableCell className={narrow}>{known?.model ?? "—"}</TableCell>
                    <TableCell className={narrow}>{known?.status}</TableCell>
                    <TableCell className="text-right tabular-nums">{forecast}</TableCell>
                    <TableCell className="text-right tabular-nums">{usd(known?.cost ?? 0)}</TableCell>
                  </TableRow>
                );
              }
              return (
                <TableRow key={t.id} data-testid={`plan-row-${t.id}`} className="align-top">
                  <TableCell className="min-w-64">
                    <div className="mb-1 flex items-center justify-between gap-2">
                      <span className="font-mono text-xs">{t.id}</span>
                      <Button
                        size="sm"
                        variant="ghost"
                        aria-label={`Remove task ${t.id}`}
                        onClick={() => remove(i)}
                        disabled={draft.length === 1}
                      >
                        <Trash2 />
                      </Button>
                    </div>
                    <Textarea
                      aria-label={`Prompt of task ${t.id}`}
                      rows={3}
                      value={t.prompt}
                      onChange={(e) => edit(i, { prompt: e.target.value })}
                    />
                  </TableCell>
                  <TableCell>
                    <NativeSelect
                      aria-label={`Type of task ${t.id}`}
                      value={t.type}
                      onChange={(e) => edit(i, { type: e.target.value as (typeof TYPES)[number] })}
                    >
                      {TYPES.map((type) => (
                        <option key={type} value={type}>
                          {type}
                        </option>
                      ))}
                    </NativeSelect>
                  </TableCell>
                  <TableCell>
                    <NativeSelect
                      aria-label={`Model of task ${t.id}`}
                      value={t.model ?? ""}
                      onChange={(e) => edit(i, { model: e.target.value || null })}
                    >
                      <option value="">routed{known?.model && !t.model ? `: ${known.model}` : ""}</option>
                      {models.map((m) => (
                        <option key={m} value={m}>
                          {m}
                        </option>
                      ))}
                    </NativeSelect>
                  </TableCell>
                  <TableCell>
                    <Input
                      aria-label={`Dependencies of task ${t.id}`}
                      placeholder="none"
                      value={(t.dependencies ?? []).join(", ")}
                      onChange={(e) =>
                        edit(i, {
                          dependencies: e.target.value
                            .split(",")
                            .map((d) => d.trim())
                            .filter(Boolean),
                        })
                      }
                    />
                  </TableCell>
                  <TableCell className="text-right tabular-nums" data-testid={`forecast-${t.id}`}>
                    {forecast}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      </div>
      {error && (
        <p role="alert" className="text-sm text-destructive-ink" data-testid="plan-error">
          {error}
        </p>
      )}
      {editable && (
        <div className="flex flex-wrap items-end gap-3">
          <Button size="sm" variant="outline" onClick={add}>
            <Plus /> Add a task
          </Button>
          <span className="text-xs text-muted-foreground" data-testid="plan-save" aria-live="polite">
            {save === "saving" || save === "waiting"
              ? "Updating the forecast…"
              : save === "error"
                ? "Not saved"
                : "Saved"}
          </span>
          <div className="ml-auto flex flex-wrap items-end gap-2">
            <div className="flex flex-col gap-1">
              <Label htmlFor="approve-budget" className="text-xs">
                Budget for the run (USD)
              </Label>
              <Input
                id="approve-budget"
                className="w-32"
                inputMode="decimal"
                placeholder={String(plan.budget_usd)}
                value={budget}
                onChange={(e) => setBudget(e.target.value)}
              />
            </div>
            <ConfirmReject
              jobId={jobId}
              spent={usd(plan.spent_usd)}
              onConfirm={() => void decide("reject")}
              disabled={deciding}
            />
            <Button
              size="sm"
              onClick={() => void decide("approve")}
              disabled={deciding || blocked !== null}
              title={blocked ?? undefined}
            >
              {deciding ? <Loader2 className="animate-spin" /> : <Check />} Approve and run
            </Button>
          </div>
        </div>
      )}
    </section>
  );
}
