// The login gate. A call answered 401 waits in `loginRequired()` until the person has logged
// in through the LoginGate form, then retries. The token is sent once, to POST /api/session,
// and never kept by the page (no localStorage): the server answers with an HttpOnly cookie
// that scripts cannot read, which the browser sends with every call and every event stream.

type Listener = (pending: boolean) => void;

let waiting: { promise: Promise<void>; resolve: () => void } | null = null;
const listeners = new Set<Listener>();

/** Resolves once the person has logged in; concurrent callers share one prompt. */
export function loginRequired(): Promise<void> {
  if (!waiting) {
    let resolve: () => void = () => undefined;
    const promise = new Promise<void>((ok) => {
      resolve = ok;
    });
    waiting = { promise, resolve };
    for (const listener of listeners) listener(true);
  }
  return waiting.promise;
}

/** The session cookie is set: let every waiting call retry. */
export function loggedIn(): void {
  const done = waiting;
  waiting = null;
  for (const listener of listeners) listener(false);
  done?.resolve();
}

/** Follow whether a login is pending (the LoginGate shows its form meanwhile). */
export function onLoginRequired(listener: Listener): () => void {
  listeners.add(listener);
  listener(waiting !== null);
  return () => {
    listeners.delete(listener);
  };
}
