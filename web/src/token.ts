import { useEffect, useState } from "preact/hooks";

/**
 * The API token (TROUPE_API_TOKEN) the person typed, kept in this tab's sessionStorage: it
 * survives a reload, not the tab, and is sent only as `Authorization: Bearer …` to this origin —
 * never in a URL (so never in a server log, a proxy log or the history), never in a cookie.
 */
const KEY = "troupe.api-token";

export interface AuthState {
  token: string | null;
  /** The API answered 401: the page shows the sign-in prompt and no data. */
  needed: boolean;
  /** The token that was sent was refused (wrong), as opposed to none sent. */
  refused: boolean;
}

let state: AuthState = { token: readStored(), needed: false, refused: false };
const listeners = new Set<() => void>();

function readStored(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the token lives in memory only
  }
}

function set(next: AuthState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function currentToken(): string | null {
  return state.token;
}

export function signIn(token: string): void {
  try {
    sessionStorage.setItem(KEY, token);
  } catch {
    // memory only
  }
  set({ token, needed: false, refused: false });
}

export function signOut(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
  set({ token: null, needed: true, refused: false });
}

/** Called on a 401: forget the token that did not work and ask for one. */
export function tokenRefused(): void {
  if (state.needed && state.token === null) return;
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
  set({ token: null, needed: true, refused: state.token !== null });
}

export function useAuth(): AuthState {
  const [snapshot, setSnapshot] = useState(state);
  useEffect(() => {
    const listener = () => setSnapshot(state);
    listeners.add(listener);
    listener();
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return snapshot;
}
