// Thin fetch wrapper: adds the bearer token, turns every failure into an ApiError with a message a person can
// act on (never raw JSON), and signs out on 401.

import { getToken, setToken } from "./auth";
import type { ErrorDetail } from "./types";

export const API = "/api/v1";

export class ApiError extends Error {
  status: number;
  detail: ErrorDetail;
  constructor(status: number, detail: ErrorDetail) {
    super(detail.message);
    this.status = status;
    this.detail = detail;
  }
}

/** Normalise any error body (ours, FastAPI's default, or not JSON at all) into an ErrorDetail. */
export function toErrorDetail(status: number, body: unknown, statusText = ""): ErrorDetail {
  const d = (body as { detail?: unknown } | null)?.detail;
  if (d && typeof d === "object" && !Array.isArray(d) && "message" in d) {
    const e = d as ErrorDetail;
    return { code: e.code ?? `http_${status}`, message: String(e.message), errors: e.errors, findings: e.findings };
  }
  if (typeof d === "string") return { code: `http_${status}`, message: d };
  if (Array.isArray(d)) {
    // FastAPI's default validation error list.
    const errors = d.map((x: { loc?: unknown[]; msg?: string }) => {
      const path = (x.loc ?? []).filter((p) => p !== "body");
      return { field: path.join("."), pointer: path.map((p) => `/${String(p)}`).join(""), message: x.msg ?? "invalid value" };
    });
    return { code: "invalid_request", message: "The request was not accepted.", errors };
  }
  return { code: `http_${status}`, message: fallbackMessage(status, statusText) };
}

export function fallbackMessage(status: number, statusText = ""): string {
  if (status === 0) return "Cannot reach the GRPO Lab server. Is `grpolab up` running?";
  if (status === 401) return "Your sign-in is no longer valid. Sign in again with a token.";
  if (status === 403) return "This token is not allowed to do that.";
  if (status === 404) return "Not found: it may have been deleted, or the link is wrong.";
  if (status >= 500) return `The server had a problem (${status}${statusText ? " " + statusText : ""}). Try again; if it persists, check the server's log.`;
  return `The request failed (${status}${statusText ? " " + statusText : ""}).`;
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
  tokenOverride?: string,
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = tokenOverride ?? getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, { code: "network", message: fallbackMessage(0) });
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && tokenOverride === undefined && getToken()) {
      setToken(null, "The server no longer accepts your token (it may have been revoked). Sign in again.");
    }
    throw new ApiError(res.status, toErrorDetail(res.status, data, res.statusText));
  }
  return data as T;
}

export const api = {
  /** Check a token before storing it (sign-in form). */
  me: (token: string) => request<{ name: string }>("GET", "/me", undefined, undefined, token),
  get: <T>(path: string, signal?: AbortSignal) => request<T>("GET", path, undefined, signal),
  post: <T>(path: string, body?: unknown, signal?: AbortSignal) => request<T>("POST", path, body ?? {}, signal),
};

export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}
