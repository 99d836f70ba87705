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

let cached: { token: string | null; me: Promise<Me> } | null = null;

function loadMe(): Promise<Me> {
  const token = getToken();
  if (!cached || cached.token !== token) cached = { token, me: api.get<Me>("/me") };
  return cached.me;
}

export function useMe(): Me | null {
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => {
    let alive = true;
    loadMe().then((m) => alive && setMe(m)).catch(() => {});
    return () => {
      alive = false;
    };
  }, []);
  return me;
}

/** May this user change this run? Mirrors the server's rule (api/deps.ensure_can_modify) to hide buttons only. */
export function canModify(me: Me | null, owner: string | null | undefined): boolean {
  if (!me || !me.role) return true;
  if (me.role === "admin") return true;
  if (me.role === "viewer") return false;
  return !owner || owner === me.name;
}

export function canSubmit(me: Me | null): boolean {
  return !me || me.role !== "viewer";
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
