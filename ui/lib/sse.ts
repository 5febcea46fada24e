"use client";

// useSSE: one EventSource per job stream that survives drops and resumes where it left off.
// EventSource reconnects by itself after a network blip and sends Last-Event-ID; when it gives
// up (HTTP error, server restart) we open a new one with ?after=<last id> after a backoff.
// A server with a token answers 401 without the session cookie: then the login form comes
// first (EventSource cannot send headers; the cookie is how it authenticates).
import { useCallback, useEffect, useRef, useState } from "react";

import { api } from "@/lib/api";
import { loginRequired } from "@/lib/auth";
import { parseEvent, type StreamEvent } from "@/lib/events";

export type StreamState = "idle" | "connecting" | "open" | "reconnecting" | "ended";

export interface SSEOptions {
  /** Called once per event, in id order, never twice for the same id. */
  onEvent: (event: StreamEvent) => void;
  /**
   * Called when the stream ends after a `done` (the server closes it after the job's last
   * one; a `done` followed by a resumed run is simply followed). Return true to reopen it:
   * the job was resumed meanwhile.
   */
  onDone?: () => Promise<boolean> | boolean;
}

export interface SSEHandle {
  state: StreamState;
  /** Seconds until the next attempt while reconnecting. */
  retryIn: number;
  /** Reconnect now from the last event seen (after a drop, or to follow a resumed job). */
  reconnect: () => void;
}

const MAX_BACKOFF_S = 15;

function withParams(url: string, after: number): string {
  const u = new URL(url, window.location.href);
  if (after > 0) u.searchParams.set("after", String(after));
  return u.toString();
}

export function useSSE(url: string | null, options: SSEOptions): SSEHandle {
  const [state, setState] = useState<StreamState>("idle");
  const [retryIn, setRetryIn] = useState(0);
  const [generation, setGeneration] = useState(0);
  const lastId = useRef(0);
  // The last event seen was a `done` (kept across reconnects): if the server then closes the
  // stream, or answers a reconnect with 204, the job's history is complete.
  const atDone = useRef(false);
  const optionsRef = useRef(options);
  const urlRef = useRef(url);

  useEffect(() => {
    optionsRef.current = options;
  });

  useEffect(() => {
    if (!url) return;
    // A new URL (another job) starts from the beginning of that job's history.
    if (urlRef.current !== url) {
      urlRef.current = url;
      lastId.current = 0;
      atDone.current = false;
    }
    let es: EventSource | null = null;
    let timer: ReturnType<typeof setInterval> | undefined;
    let failures = 0;
    let stopped = false;
    let ended = false;
    let offline = false;

    const open = () => {
      ended = false;
      setState(failures === 0 ? "connecting" : "reconnecting");
      es = new EventSource(withParams(url, lastId.current), api.streamInit);
      es.onopen = () => {
        failures = 0;
        setState("open");
      };
      es.onmessage = (msg: MessageEvent<string>) => {
        const id = Number(msg.lastEventId);
        if (Number.isFinite(id) && id > 0) {
          if (id <= lastId.current) return; // replayed twice across a reconnect
          lastId.current = id;
        }
        const event = parseEvent(msg.data);
        if (!event) return;
        optionsRef.current.onEvent({ ...event, id: Number.isFinite(id) ? id : 0 });
        // Not closed here: after a resume, the stream goes on with the next run's events.
        atDone.current = event.type === "done";
      };
      es.onerror = () => {
        if (atDone.current) {
          finish();
          return;
        }
        // CONNECTING: the browser retries by itself with Last-Event-ID. CLOSED: it gave up.
        if (es?.readyState === EventSource.CONNECTING) {
          setState("reconnecting");
          return;
        }
        es?.close();
        void api.session.missing().then(async (missing) => {
          if (!missing) return scheduleRetry();
          setState("reconnecting");
          await loginRequired();
          if (!stopped) open();
        });
      };
    };

    const scheduleRetry = () => {
      if (stopped) return;
      failures += 1;
      let wait = Math.min(MAX_BACKOFF_S, 2 ** (failures - 1));
      setState("reconnecting");
      setRetryIn(wait);
      clearInterval(timer);
      if (offline) return; // the "online" event reopens it
      timer = setInterval(() => {
        wait -= 1;
        setRetryIn(Math.max(0, wait));
        if (wait <= 0) {
          clearInterval(timer);
          if (!stopped) open();
        }
      }, 1000);
    };

    const finish = () => {
      ended = true;
      es?.close();
      setState("ended");
      const reopen = optionsRef.current.onDone?.();
      void Promise.resolve(reopen).then((again) => {
        if (again && !stopped) open();
      });
    };

    // Offline: the open connection may linger half-dead for minutes; drop it now and resume
    // from the last id as soon as the browser is back online.
    const onOffline = () => {
      if (ended) return; // the job's stream is complete: nothing to resume
      offline = true;
      es?.close();
      clearInterval(timer);
      timer = undefined;
      setRetryIn(0);
      setState("reconnecting");
    };
    const onOnline = () => {
      if (!offline || stopped) return;
      offline = false;
      failures = 1;
      open();
    };
    window.addEventListener("offline", onOffline);
    window.addEventListener("online", onOnline);

    open();
    return () => {
      stopped = true;
      clearInterval(timer);
      es?.close();
      window.removeEventListener("offline", onOffline);
      window.removeEventListener("online", onOnline);
    };
  }, [url, generation]);

  const reconnect = useCallback(() => setGeneration((g) => g + 1), []);
  return { state, retryIn, reconnect };
}
