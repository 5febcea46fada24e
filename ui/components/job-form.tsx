"use client";

import type * as React from "react";

import { Input, Textarea } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { type Field, type FieldErrors, type FormValues, LIMITS } from "@/lib/job-spec";

export const FIELD_LABEL: Record<Field, string> = {
  project_description: "Project description",
  success_criteria: "Success criteria",
  budget_usd: "Budget (USD)",
  time_limit_s: "Time limit",
  concurrency: "Concurrency",
};

function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} className="text-xs text-destructive-ink" data-testid={`error-${id.replace(/-error$/, "")}`}>
      {message}
    </p>
  );
}

function FieldBox({
  name,
  hint,
  error,
  children,
}: {
  name: Field;
  hint?: string;
  error?: string;
  children: React.ReactNode;
}) {
  return (
    <div className="flex flex-col gap-1.5">
      <Label htmlFor={name}>{FIELD_LABEL[name]}</Label>
      {children}
      {hint && !error && (
        <p id={`${name}-hint`} className="text-xs text-muted-foreground" data-testid={`hint-${name}`}>
          {hint}
        </p>
      )}
      <FieldError id={`${name}-error`} message={error} />
    </div>
  );
}

/** The five fields. Values stay text so clearing a number leaves it empty, not 0. */
export function JobForm({
  values,
  errors,
  onChange,
  onBlur,
  budgetHint,
}: {
  values: FormValues;
  errors: FieldErrors;
  onChange: (field: Field, value: string) => void;
  /** A field was left: check it now, not only on submit. */
  onBlur: (field: Field) => void;
  budgetHint: string;
}) {
  const aria = (name: Field) => ({
    id: name,
    name,
    onBlur: () => onBlur(name),
    "aria-invalid": errors[name] ? true : undefined,
    "aria-describedby": errors[name] ? `${name}-error` : `${name}-hint`,
  });
  const set = (name: Field) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
    onChange(name, e.target.value);

  return (
    <div className="space-y-4">
      <FieldBox
        name="project_description"
        hint="What should be built? One sentence is enough."
        error={errors.project_description}
      >
        <Textarea
          {...aria("project_description")}
          rows={3}
          required
          maxLength={LIMITS.descriptionMax}
          placeholder="Write a hello world Python script"
          value={values.project_description}
          onChange={set("project_description")}
        />
      </FieldBox>
      <FieldBox
        name="success_criteria"
        hint="How the result is judged (optional)."
        error={errors.success_criteria}
      >
        <Textarea
          {...aria("success_criteria")}
          rows={2}
          maxLength={LIMITS.descriptionMax}
          placeholder="Script prints Hello World"
          value={values.success_criteria}
          onChange={set("success_criteria")}
        />
      </FieldBox>
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        {/* Text inputs: what was typed is what is checked ("abc" is an error, not empty). */}
        <FieldBox name="budget_usd" hint={budgetHint} error={errors.budget_usd}>
          <Input
            {...aria("budget_usd")}
            type="text"
            inputMode="decimal"
            autoComplete="off"
            required
            value={values.budget_usd}
            onChange={set("budget_usd")}
          />
        </FieldBox>
        <FieldBox name="time_limit_s" hint="Minutes, or like 1h 30m" error={errors.time_limit_s}>
          <Input
            {...aria("time_limit_s")}
            type="text"
            autoComplete="off"
            value={values.time_limit_s}
            onChange={set("time_limit_s")}
          />
        </FieldBox>
        <FieldBox name="concurrency" hint="1 to 10 tasks at once" error={errors.concurrency}>
          <Input
            {...aria("concurrency")}
            type="number"
            inputMode="numeric"
            step="1"
            min={LIMITS.concurrencyMin}
            max={LIMITS.concurrencyMax}
            value={values.concurrency}
            onChange={set("concurrency")}
          />
        </FieldBox>
      </div>
    </div>
  );
}
