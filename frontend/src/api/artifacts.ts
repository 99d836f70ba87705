// A run's outputs (api/routers/artifacts.py): sample episodes, checkpoints, the merged export, metrics CSV and the
// resolved config. Downloads need the bearer token, so they go through fetch + a Blob saved with a temporary
// object URL (no token ever lands in a URL, a log or the browser history); see docs/artifacts.md for the limits.

import { getToken } from "./auth";
import { API, api, ApiError, qs, toErrorDetail } from "./client";
import type { components } from "./schema.gen";

/** A run's id (RunDetail.id; older generated types allow a number). */
export type RunId = string | number;

type Schemas = components["schemas"];

export type SampleEpisode = Schemas["SampleEpisode"];
export type SampleStep = Schemas["SampleStep"];
export type SampleList = Schemas["SampleList"];
export type FileEntry = Schemas["FileEntry"];
export type CheckpointInfo = Schemas["CheckpointInfo"];
export type ExportState = Schemas["ExportState"];
export type ExportStatus = ExportState["status"];
export type ResolvedConfig = Schemas["ResolvedConfig"];

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
