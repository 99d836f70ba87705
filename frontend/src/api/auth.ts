// The API token lives in localStorage. `grpolab up` prints a link with `#token=…`; we take it from the
// fragment once and remove it from the address bar so it does not end up in history or screenshots.

const KEY = "grpolab.token";
type Listener = () => void;
const listeners = new Set<Listener>();

export function getToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

let signOutReason: string | undefined;

/** Store a token, or sign out (null); a reason given on sign-out is shown on the sign-in page. */
export function setToken(token: string | null, reason?: string): void {
  if (token) localStorage.setItem(KEY, token);
  else localStorage.removeItem(KEY);
  signOutReason = token ? undefined : reason;
  listeners.forEach((l) => l());
}

export function signOutNotice(): string | undefined {
  return signOutReason;
}

export function onTokenChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Parse `#token=abc` (or `#a=1&token=abc`) out of a URL fragment. */
export function tokenFromFragment(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const t = params.get("token");
  return t && t.trim() ? t.trim() : null;
}

/** Take a token from the current URL's fragment (if any), store it, and strip it from the URL. */
export function absorbFragmentToken(): void {
  const t = tokenFromFragment(window.location.hash);
  if (!t) return;
  setToken(t);
  const url = window.location.pathname + window.location.search;
  window.history.replaceState(window.history.state, "", url);
}
