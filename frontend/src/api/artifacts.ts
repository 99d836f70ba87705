// A run's outputs (api/routers/artifacts.py): sample episodes, checkpoints, the merged export, metrics CSV and the
// resolved config. Downloads need the bearer token, so they go through fetch + a Blob saved with a temporary
// object URL (no token ever lands in a URL, a log or the browser history); see docs/artifacts.md for the limits.

import { getToken } from "./auth";
import { API, api, ApiError, qs, toErrorDetail } from "./client";

/** A run's id (RunDetail.id; older generated types allow a number). */
export type RunId = string | number;

export interface SampleEpisode {
  group: number;
  episode: number;
  seed: number;
  prompt: string;
  completion: string;
  truncated: boolean;
  reward: number | null;
  advantage: number | null;
  success: boolean;
  turns: number;
  group_rewards: (number | null)[];
}

export interface SampleStep {
  step: number;
  episodes: SampleEpisode[];
}

export interface SampleList {
  items: SampleStep[];
  next_before: number | null;
}

export interface FileEntry {
  name: string;
  size: number;
}

export interface CheckpointInfo {
  step: number;
  size: number;
  files: FileEntry[];
  created_at: string;
}

export type ExportStatus = "none" | "queued" | "running" | "succeeded" | "failed";

export interface ExportState {
  status: ExportStatus;
  step?: number | null;
  requested_by?: string | null;
  requested_at?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
  error?: string | null;
  files?: FileEntry[];
}

export interface ResolvedConfig {
  yaml: string;
  config: Record<string, unknown>;
  config_text: string;
  output_dir: string;
}

export const artifacts = {
  samples: (id: RunId, p: { step?: number; before?: number; limit?: number }, signal?: AbortSignal) =>
    api.get<SampleList>(`/runs/${id}/samples${qs(p)}`, signal),
  checkpoints: (id: RunId, signal?: AbortSignal) => api.get<{ items: CheckpointInfo[] }>(`/runs/${id}/checkpoints`, signal),
  exportState: (id: RunId, signal?: AbortSignal) => api.get<ExportState>(`/runs/${id}/export`, signal),
  requestExport: (id: RunId, step?: number) => api.post<ExportState>(`/runs/${id}/export`, step === undefined ? {} : { step }),
  resolvedConfig: (id: RunId, signal?: AbortSignal) => api.get<ResolvedConfig>(`/runs/${id}/config/resolved`, signal),
};

/** Where each download comes from, and the file name it is saved under. */
export const downloads = {
  checkpoint: (id: RunId, step: number) => ({
    path: `/runs/${id}/checkpoints/${step}/archive`,
    filename: `${id}-step-${String(step).padStart(6, "0")}.tar.gz`,
  }),
  exportArchive: (id: RunId, step: number) => ({
    path: `/runs/${id}/export/archive`,
    filename: `${id}-export-step-${String(step).padStart(6, "0")}.tar.gz`,
  }),
  metricsCsv: (id: RunId) => ({ path: `/runs/${id}/metrics.csv`, filename: `${id}-metrics.csv` }),
  resolvedYaml: (id: RunId) => ({ path: `/runs/${id}/config/resolved?format=yaml`, filename: `${id}-config.yaml` }),
};

/** Fetch `path` with the token and hand the bytes to the browser as a file download. */
export async function download(path: string, filename: string): Promise<void> {
  const token = getToken();
  let res: Response;
  try {
    res = await fetch(API + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  } catch {
    throw new ApiError(0, toErrorDetail(0, null));
  }
  if (!res.ok) {
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    throw new ApiError(res.status, toErrorDetail(res.status, body, res.statusText));
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // the click has started the download; the object URL can go once the browser has taken the blob
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** 1536 → "1.5 KB" (powers of 1024, one decimal). */
export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
