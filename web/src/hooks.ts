import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

/** The view the URL's hash names: `#/jobs`, `#/jobs/<id>`, `#/workers`, `#/queue`. */
export type Route =
  | { view: "jobs" }
  | { view: "job"; jobId: string }
  | { view: "workers" }
  | { view: "queue" };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "jobs" && parts[1]) return { view: "job", jobId: decodeURIComponent(parts[1]) };
  if (parts[0] === "workers") return { view: "workers" };
  if (parts[0] === "queue") return { view: "queue" };
  return { view: "jobs" };
}

/** Hash routing: the server serves one page, and the views are links a person can share. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
}

/** Between two reads of a view's data, at least. */
const POLL_MS = 2_000;
/** ...and at least this many times the last read's duration, so a slow server is not swamped. */
const POLL_BACKOFF = 5;

/**
 * Reads `load` now and again and again while the page is visible: the list views' data (the API
 * streams only one job's events). A read keeps the previous data on failure and says why; a 401
 * is the sign-in prompt's business (see api.ts).
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, key: string): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: undefined, error: undefined });
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let reading = false;
    setState({ data: undefined, error: undefined });
    const tick = async () => {
      timer = undefined;
      if (document.visibilityState === "hidden") return; // resumed by visibilitychange
      const started = performance.now();
      reading = true;
      try {
        const data = await loadRef.current(abort.signal);
        if (!abort.signal.aborted) setState({ data, error: undefined });
      } catch (error) {
        if (abort.signal.aborted) return;
        // A 401 shows the sign-in prompt instead of this view (api.ts); it polls again after.
        if (!(error instanceof ApiError && error.status === 401)) {
          const message = String((error as Error).message);
          setState((previous) => ({ data: previous.data, error: message }));
        }
      } finally {
        reading = false;
      }
      if (abort.signal.aborted) return;
      const waitMs = Math.max(POLL_MS, POLL_BACKOFF * (performance.now() - started));
      timer = setTimeout(() => void tick(), waitMs);
    };
    const onVisible = () => {
      if (document.visibilityState === "visible" && timer === undefined && !reading) void tick();
    };
    document.addEventListener("visibilitychange", onVisible);
    void tick();
    return () => {
      abort.abort();
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [key]);
  return state;
}
