"use client";

import { FileUp } from "lucide-react";
import { useId, useState } from "react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { FIELDS, type FieldErrors, nearestField, parseProjectYaml } from "@/lib/job-spec";
import { cn } from "@/lib/utils";

const MAX_BYTES = 256 * 1024;

export interface ParsedYaml {
  fileName: string;
  text: string;
  values?: Record<string, unknown>;
  error?: string;
  line?: number;
  unknown?: string[];
}

function show(value: unknown): string {
  if (value === undefined) return "(default)";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** Drop zone + file picker; shows the parsed fields, or the parse error with its line. */
export function YamlUpload({
  parsed,
  errors,
  onParsed,
}: {
  parsed: ParsedYaml | null;
  errors: FieldErrors;
  onParsed: (parsed: ParsedYaml) => void;
}) {
  const inputId = useId();
  const [dragging, setDragging] = useState(false);

  const handleFile = async (file: File) => {
    if (file.size > MAX_BYTES) {
      onParsed({ fileName: file.name, text: "", error: `${file.name} is larger than 256 KiB.` });
      return;
    }
    const text = await file.text();
    onParsed({ fileName: file.name, text, ...parseProjectYaml(text) });
  };

  const lines = parsed?.text.split("\n") ?? [];

  return (
    <div className="space-y-4">
      <div
        data-testid="yaml-dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          const file = e.dataTransfer.files[0];
          if (file) void handleFile(file);
        }}
        className={cn(
          "flex flex-col items-center gap-2 rounded-lg border-2 border-dashed p-8 text-center transition-colors",
          dragging ? "border-primary bg-accent" : "border-border",
        )}
      >
        <FileUp className="size-8 text-muted-foreground" />
        <p className="text-sm text-muted-foreground">Drag & drop a project YAML file here, or</p>
        <label
          htmlFor={inputId}
          className="cursor-pointer rounded-md border bg-background px-3 py-1.5 text-sm font-medium shadow-xs hover:bg-accent focus-within:ring-[3px] focus-within:ring-ring"
        >
          Choose a file…
          <input
            id={inputId}
            type="file"
            accept=".yaml,.yml,application/yaml,text/yaml"
            className="sr-only"
            aria-label="Project YAML file"
            data-testid="yaml-input"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void handleFile(file);
              e.target.value = "";
            }}
          />
        </label>
        <p className="text-xs text-muted-foreground">Fields: {FIELDS.join(", ")}</p>
      </div>

      {parsed?.error && (
        <Alert variant="destructive" data-testid="yaml-error">
          <AlertTitle>{parsed.fileName} cannot be used</AlertTitle>
          <AlertDescription>
            <p>{parsed.error}</p>
            {parsed.line !== undefined && lines.length > 0 && (
              <pre className="mt-1 w-full overflow-x-auto rounded bg-muted p-2 font-mono text-xs text-foreground">
                {lines
                  .map((text, i) => ({ n: i + 1, text }))
                  .filter(({ n }) => Math.abs(n - (parsed.line ?? 0)) <= 2)
                  .map(({ n, text }) => (
                    <div key={n} className={n === parsed.line ? "bg-destructive/20" : undefined}>
                      <span className="mr-3 inline-block w-6 text-right text-muted-foreground select-none">
                        {n}
                      </span>
                      {text}
                    </div>
                  ))}
              </pre>
            )}
          </AlertDescription>
        </Alert>
      )}

      {parsed?.values && (
        <div data-testid="yaml-preview" className="rounded-lg border">
          <p className="border-b px-4 py-2 text-sm font-medium">
            Preview of <span className="font-mono">{parsed.fileName}</span>
          </p>
          <dl className="divide-y text-sm">
            {FIELDS.map((field) => (
              <div key={field} className="grid grid-cols-1 gap-1 px-4 py-2 sm:grid-cols-[12rem_1fr]">
                <dt className="font-mono text-xs text-muted-foreground">{field}</dt>
                <dd>
                  <span className="break-words whitespace-pre-wrap">{show(parsed.values?.[field])}</span>
                  {errors[field] && (
                    <p className="text-xs text-destructive-ink" data-testid={`error-${field}`}>
                      {errors[field]}
                    </p>
                  )}
                </dd>
              </div>
            ))}
          </dl>
          {parsed.unknown && parsed.unknown.length > 0 && (
            <div className="border-t px-4 py-2 text-xs text-destructive-ink" data-testid="yaml-unknown">
              <p>Not job fields:</p>
              <ul className="list-disc pl-5">
                {parsed.unknown.map((key) => {
                  const near = nearestField(key);
                  return (
                    <li key={key}>
                      <code>{key}</code>
                      {near && (
                        <>
                          {" "}
                          — did you mean <code>{near}</code>?
                        </>
                      )}
                    </li>
                  );
                })}
              </ul>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
