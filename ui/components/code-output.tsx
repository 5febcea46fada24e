import { highlight, type LanguageName } from "sugar-high";

// Model output is markdown-ish text: fenced blocks are highlighted, prose is shown as is.
const FENCE = /```([\w+#.-]*)[^\n]*\n([\s\S]*?)(?:```|$)/g;

const ALIASES: Record<string, LanguageName> = {
  py: "python",
  python: "python",
  python3: "python",
  js: "javascript",
  jsx: "javascript",
  javascript: "javascript",
  ts: "typescript",
  tsx: "typescript",
  typescript: "typescript",
  sh: "shell",
  bash: "shell",
  shell: "shell",
  console: "shell",
  yml: "yaml",
  yaml: "yaml",
  json: "json",
  toml: "toml",
  sql: "sql",
  go: "go",
  rust: "rust",
  rs: "rust",
  java: "java",
  c: "c",
  cpp: "cpp",
  "c++": "cpp",
  css: "css",
  html: "html",
  diff: "diff",
  md: "markdown",
  markdown: "markdown",
  dockerfile: "dockerfile",
};

/** The highlighter's language for a fence label or a file's extension (undefined: plain). */
export function languageFor(label: string): LanguageName | undefined {
  return ALIASES[label.toLowerCase()];
}

type Part =
  { kind: "text"; text: string } | { kind: "code"; lang?: LanguageName; label: string; code: string };

export function splitFences(text: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(FENCE)) {
    const start = m.index ?? 0;
    if (start > last) parts.push({ kind: "text", text: text.slice(last, start) });
    const label = (m[1] ?? "").toLowerCase();
    parts.push({ kind: "code", lang: ALIASES[label], label, code: (m[2] ?? "").replace(/\n$/, "") });
    last = start + m[0].length;
  }
  if (last < text.length) parts.push({ kind: "text", text: text.slice(last) });
  return parts;
}

function CodeBlock({ code, lang, label }: { code: string; lang?: LanguageName; label: string }) {
  // sugar-high escapes every token (&, <, >, quotes) before wrapping it in a span.
  const html = highlight(code, lang ? { lang } : undefined);
  return (
    <div className="code-block overflow-hidden rounded-lg bg-gray-950" data-testid="code-block">
      {label && (
        <div className="border-b border-white/10 px-3 py-1 font-mono text-[11px] text-gray-400">{label}</div>
      )}
      <pre className="overflow-x-auto p-3 font-mono text-xs leading-relaxed text-gray-200">
        <code dangerouslySetInnerHTML={{ __html: html }} />
      </pre>
    </div>
  );
}

/**
 * An iteration's output or critique: prose wrapped, fenced code highlighted. `code`: the task
 * produces code, so unfenced output is a program (highlighted as Python, the default target).
 */
export function CodeOutput({ text, code = false }: { text: string; code?: boolean }) {
  if (!text.trim()) return <p className="text-sm text-muted-foreground italic">(empty)</p>;
  const fenced = text.includes("```");
  const parts: Part[] =
    code && !fenced
      ? [{ kind: "code", lang: "python", label: "python", code: text.replace(/\s+$/, "") }]
      : splitFences(text);
  return (
    <div className="space-y-2">
      {parts.map((part, i) =>
        part.kind === "code" ? (
          <CodeBlock
            key={i}
            code={part.code}
            lang={"lang" in part ? part.lang : undefined}
            label={part.label}
          />
        ) : (
          part.text.trim() && (
            <p key={i} className="text-sm break-words whitespace-pre-wrap">
              {part.text.trim()}
            </p>
          )
        ),
      )}
    </div>
  );
}
