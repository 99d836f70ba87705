// Who is signed in (GET /me, fetched once per token and shared by every page) and the browser tab's title.

import { useEffect, useState } from "react";
import { api } from "../api/client";
import { getToken } from "../api/auth";

export type Role = "admin" | "member" | "viewer";

export interface Me {
  name: string;
  /** Older servers send no role: then nothing is hidden and the server's 403 has the last word. */
  role?: Role;
}

/** /me for the current token: the request, and its answer once it came (a page drawn after that starts with it). */
type MeEntry = { token: string | null; me: Promise<Me>; answer?: Me };
let cached: MeEntry | null = null;

function loadMe(): Promise<Me> {
  const token = getToken();
  if (!cached || cached.token !== token) {
    const entry: MeEntry = { token, me: api.get<Me>("/me") };
    entry.me.then((m) => (entry.answer = m)).catch(() => {});
    cached = entry;
  }
  return cached.me;
}

/** The app shell's own GET /me hands its answer here: the pages under it then know the role at once. */
export function rememberMe(me: Me, token: string | null = getToken()): void {
  cached = { token, me: Promise.resolve(me), answer: me };
}

function knownMe(): Me | null {
  return cached && cached.token === getToken() ? cached.answer ?? null : null;
}

/** null until /me has answered. If it cannot answer, a role-less Me: nothing is hidden and the server's 403 decides. */
export function useMe(): Me | null {
  const [me, setMe] = useState<Me | null>(knownMe);
  useEffect(() => {
    let alive = true;
    loadMe()
      .then((m) => alive && setMe(m))
      .catch(() => alive && setMe({ name: "" }));
    return () => {
      alive = false;
    };
  }, []);
  return me;
}

/**
 * May this user change this run? Mirrors the server's rule (api/deps.ensure_can_modify) to hide buttons only.
 * Until /me has answered (me is null) nothing that changes a run is shown, so a viewer never sees one flash by.
 */
export function canModify(me: Me | null, owner: string | null | undefined): boolean {
  if (!me) return false;
  if (!me.role) return true;
  if (me.role === "admin") return true;
  if (me.role === "viewer") return false;
  return !owner || owner === me.name;
}

/** May this user submit runs and sweeps? false until /me has answered, like canModify. */
export function canSubmit(me: Me | null): boolean {
  return me !== null && me.role !== "viewer";
}

/** "<what> · GRPO Lab" in the tab, so several open runs can be told apart. */
export function useDocumentTitle(what: string | null | undefined): void {
  useEffect(() => {
    document.title = what ? `${what} · GRPO Lab` : "GRPO Lab";
    // a page that sets no title must not keep the previous page's
    return () => {
      document.title = "GRPO Lab";
    };
  }, [what]);
}
