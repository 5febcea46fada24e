"use client";

import { Search } from "lucide-react";
import type * as React from "react";

import { Input, NativeSelect } from "@/components/ui/input";
import type { LogFilter } from "@/lib/log-filter";

function Choice({
  label,
  all,
  value,
  onChange,
  children,
}: {
  label: string;
  all: string;
  value: string;
  onChange: (value: string) => void;
  children: React.ReactNode;
}) {
  return (
    <NativeSelect
      aria-label={label}
      className="w-auto max-w-56"
      value={value}
      onChange={(e) => onChange(e.target.value)}
    >
      <option value="">{all}</option>
      {children}
    </NativeSelect>
  );
}

/** Search and filters over the job log: level, task, model, text. */
export function LogFilters({
  filter,
  onChange,
  tasks,
  models,
  shown,
  total,
}: {
  filter: LogFilter;
  onChange: (next: LogFilter) => void;
  tasks: { id: string; title?: string }[];
  models: string[];
  shown: number;
  total: number;
}) {
  const set = <K extends keyof LogFilter>(key: K, value: LogFilter[K]) =>
    onChange({ ...filter, [key]: value });
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm" role="group" aria-label="Log filters">
      <div className="relative min-w-40 flex-1">
        <Search className="pointer-events-none absolute top-2.5 left-2.5 size-4 text-muted-foreground" />
        <Input
          type="search"
          aria-label="Search the log"
          placeholder="Search the log…"
          className="h-9 pl-8"
          value={filter.text}
          onChange={(e) => set("text", e.target.value)}
        />
      </div>
      <NativeSelect
        aria-label="Lowest level shown"
        className="w-auto"
        value={filter.level}
        onChange={(e) => set("level", e.target.value as LogFilter["level"])}
      >
        <option value="">All levels</option>
        <option value="INFO">INFO and up</option>
        <option value="WARNING">WARNING and up</option>
        <option value="ERROR">ERROR only</option>
      </NativeSelect>
      <Choice label="Task" all="All tasks" value={filter.task} onChange={(v) => set("task", v)}>
        {tasks.map((t) => (
          <option key={t.id} value={t.id}>
            {t.title ? `${t.id} · ${t.title}` : t.id}
          </option>
        ))}
      </Choice>
      {models.length > 0 && (
        <Choice label="Model" all="All models" value={filter.model} onChange={(v) => set("model", v)}>
          {models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </Choice>
      )}
      <span className="text-xs text-muted-foreground tabular-nums" data-testid="log-count" aria-live="polite">
        {shown === total ? `${total} lines` : `${shown} of ${total} lines`}
      </span>
    </div>
  );
}
