"use client";

import { Loader2, Play } from "lucide-react";
import { useRouter, useSearchParams } from "next/navigation";
import { type FormEvent, Suspense, useEffect, useState } from "react";

import { InlineError } from "@/components/error-state";
import { FIELD_LABEL, JobForm } from "@/components/job-form";
import { PageHeader } from "@/components/page-header";
import { type ParsedYaml, YamlUpload } from "@/components/yaml-upload";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { ApiError, api, type JobCreate } from "@/lib/api";
import { usd } from "@/lib/format";
import { Skeleton } from "@/components/ui/skeleton";
import {
  EMPTY_FORM,
  FIELDS,
  type Field,
  type FieldErrors,
  type FormValues,
  formFromJob,
  toJobCreate,
} from "@/lib/job-spec";

type Tab = "form" | "yaml";

export default function NewJobPage() {
  return (
    <Suspense fallback={<Skeleton className="h-96" />}>
      <NewJob />
    </Suspense>
  );
}

function NewJob() {
  const router = useRouter();
  const from = useSearchParams().get("from");
  const [copied, setCopied] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>("form");
  const [form, setForm] = useState<FormValues>(EMPTY_FORM);
  const [yaml, setYaml] = useState<ParsedYaml | null>(null);
  const [errors, setErrors] = useState<Record<Tab, FieldErrors>>({ form: {}, yaml: {} });
  const [submitting, setSubmitting] = useState(false);
  const [review, setReview] = useState(false);

  // "Duplicate and edit": the form starts as the other job was set up.
  useEffect(() => {
    if (!from) return;
    let alive = true;
    api.jobs
      .get(from)
      .then((job) => {
        if (!alive) return;
        setForm(formFromJob(job));
        setCopied(job.job_id);
      })
      .catch((e: unknown) => {
        if (!alive) return;
        const msg = e instanceof ApiError ? e.message : String(e);
        setErrors((prev) => ({ ...prev, form: { _: `Could not copy job ${from}: ${msg}` } }));
      });
    return () => {
      alive = false;
    };
  }, [from]);

  const budgetHint = useBudgetHint();

  // On leaving a field, its own check (the others keep what they showed).
  const checkField = (field: Field) => {
    const message = toJobCreate({ ...form }, "form").errors[field];
    setErrors((e) => ({ ...e, form: { ...e.form, [field]: message } }));
  };

  const setField = (field: Field, value: string) => {
    setForm((f) => ({ ...f, [field]: value }));
    setErrors((e) => ({ ...e, form: { ...e.form, [field]: undefined, _: undefined } }));
  };

  const onYaml = (parsed: ParsedYaml) => {
    setYaml(parsed);
    const check = parsed.values ? toJobCreate(parsed.values).errors : {};
    setErrors((e) => ({ ...e, yaml: check }));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    let body: JobCreate | undefined;
    let found: FieldErrors = {};
    if (tab === "form") {
      ({ body, errors: found } = toJobCreate({ ...form }, "form"));
    } else if (!yaml?.values) {
      found = {
        _: yaml?.error ? "The file cannot be used: see the error above." : "Choose a YAML file first.",
      };
    } else if (yaml.unknown && yaml.unknown.length > 0) {
      // The unknown keys are listed once, in the preview; here only what to do about them.
      found = { _: "Remove or rename the fields the preview marks as unknown." };
    } else {
      ({ body, errors: found } = toJobCreate(yaml.values));
    }
    if (!body) {
      setErrors((e) => ({ ...e, [tab]: found }));
      // Focus the first field to fix (the summary lists them all).
      const first = FIELDS.find((f) => found[f]);
      if (tab === "form" && first) document.getElementById(first)?.focus();
      return;
    }
    setSubmitting(true);
    try {
      const { job_id } = await api.jobs.create(review ? { ...body, review: true } : body);
      router.push(`/jobs/${job_id}/`);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(0, String(e));
      const hasFields = Object.keys(err.fields).length > 0;
      setErrors((prev) => ({
        ...prev,
        [tab]: { ...err.fields, _: hasFields ? "The server did not accept the job." : err.message },
      }));
      setSubmitting(false);
    }
  };

  const current = errors[tab];
  const invalid = FIELDS.filter((f) => current[f]);

  return (
    <div className="mx-auto max-w-2xl">
      <PageHeader
        title="New Job"
        description={
          copied
            ? `A copy of job ${copied}: edit what should change, then start it.`
            : "Plan a project into tasks and run them across several models."
        }
      />
      <form onSubmit={submit} noValidate aria-label="New job">
        <Tabs value={tab} onValueChange={(v) => setTab(v as Tab)}>
          <TabsList>
            <TabsTrigger value="form">Form</TabsTrigger>
            <TabsTrigger value="yaml">YAML Upload</TabsTrigger>
          </TabsList>
          <TabsContent value="form">
            <Card>
              <CardHeader>
                <CardTitle>Project Details</CardTitle>
              </CardHeader>
              <CardContent>
                <JobForm
                  values={form}
                  errors={errors.form}
                  onChange={setField}
                  onBlur={checkField}
                  budgetHint={budgetHint}
                />
              </CardContent>
            </Card>
          </TabsContent>
          <TabsContent value="yaml">
            <Card>
              <CardHeader>
                <CardTitle>Upload YAML</CardTitle>
              </CardHeader>
              <CardContent>
                <YamlUpload parsed={yaml} errors={errors.yaml} onParsed={onYaml} />
              </CardContent>
            </Card>
          </TabsContent>
        </Tabs>
        <div className="mt-4 space-y-2">
          {tab === "form" && invalid.length > 0 && (
            <div role="alert" className="text-sm text-destructive-ink" data-testid="form-summary">
              <p>{invalid.length === 1 ? "One field needs" : `${invalid.length} fields need`} attention:</p>
              <ul className="list-disc pl-5">
                {invalid.map((f) => (
                  <li key={f}>
                    <a href={`#${f}`} className="underline underline-offset-2">
                      {FIELD_LABEL[f]}
                    </a>{" "}
                    {current[f]}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <div className="flex items-start gap-2">
            <input
              id="review"
              type="checkbox"
              className="mt-1 size-4 accent-primary"
              checked={review}
              onChange={(e) => setReview(e.target.checked)}
              aria-describedby="review-hint"
            />
            <div>
              <Label htmlFor="review">Review the plan before it runs</Label>
              <p id="review-hint" className="text-xs text-muted-foreground">
                Only the planner is paid; you then see each task with its cost forecast, edit it, and approve
                or reject.
              </p>
            </div>
          </div>
          <InlineError message={current._} />
          <Button type="submit" className="w-full" disabled={submitting}>
            {submitting ? <Loader2 className="animate-spin" /> : <Play />}
            {submitting ? "Starting…" : "Start Job"}
          </Button>
        </div>
      </form>
    </div>
  );
}

/**
 * What jobs cost here: the median of the finished jobs this server has run (until a forecast
 * from recorded calls exists), or a plain word for a first job.
 */
function useBudgetHint(): string {
  const [hint, setHint] = useState("A hard cap. A first job usually costs well under $1.");
  useEffect(() => {
    let alive = true;
    api.jobs
      .list({ limit: 100 })
      .then(({ items }) => {
        const costs = items
          .filter((j) => j.final_status === "SUCCESS" || j.final_status === "PARTIAL_SUCCESS")
          .map((j) => j.total_cost)
          .sort((a, b) => a - b);
        if (!alive || costs.length === 0) return;
        const mid = Math.floor(costs.length / 2);
        const median = costs.length % 2 ? (costs[mid] ?? 0) : ((costs[mid - 1] ?? 0) + (costs[mid] ?? 0)) / 2;
        const n = costs.length;
        setHint(
          `A hard cap. Finished jobs here cost ${usd(median)} (median of ${n} job${n === 1 ? "" : "s"}).`,
        );
      })
      .catch(() => {
        // No history to go by: the plain hint stays.
      });
    return () => {
      alive = false;
    };
  }, []);
  return hint;
}
