"use client";

// The login form, shown over any page while a call waits for a session (lib/auth.ts). The
// token goes to POST /api/session and is forgotten: the field is cleared, nothing is stored.
import { KeyRound } from "lucide-react";
import { type FormEvent, useEffect, useId, useState } from "react";

import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { ApiError, api } from "@/lib/api";
import { loggedIn, onLoginRequired } from "@/lib/auth";

export function LoginGate() {
  const [open, setOpen] = useState(false);
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();

  useEffect(() => onLoginRequired(setOpen), []);

  if (!open) return null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.session.login(token);
      setToken("");
      loggedIn();
    } catch (err) {
      const wrong = err instanceof ApiError && err.status === 401;
      setError(wrong ? "That is not the server's token." : err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/50 p-4">
      <form
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${id}-title`}
        aria-describedby={`${id}-help`}
        data-testid="login-form"
        onSubmit={(e) => void submit(e)}
        className="grid w-full max-w-sm gap-4 rounded-lg border bg-background p-6 shadow-lg"
      >
        <h2 id={`${id}-title`} className="flex items-center gap-2 text-lg font-semibold">
          <KeyRound className="size-5" aria-hidden /> Log in
        </h2>
        <p id={`${id}-help`} className="text-sm text-muted-foreground">
          This server needs its API token (<code>ORCH_API_TOKEN</code>). The browser keeps only a session
          cookie, not the token.
        </p>
        <div className="grid gap-2">
          <Label htmlFor={`${id}-token`}>API token</Label>
          <Input
            id={`${id}-token`}
            type="password"
            autoComplete="current-password"
            autoFocus
            required
            value={token}
            onChange={(e) => setToken(e.target.value)}
            aria-invalid={error !== null}
            aria-describedby={error ? `${id}-error` : undefined}
          />
          {error && (
            <p
              id={`${id}-error`}
              role="alert"
              className="text-xs text-destructive-ink"
              data-testid="login-error"
            >
              {error}
            </p>
          )}
        </div>
        <Button type="submit" disabled={busy || token === ""}>
          {busy ? "Logging in…" : "Log in"}
        </Button>
      </form>
    </div>
  );
}
