// Shapes of the GRPO Lab REST API (/api/v1), as documented in docs/api.md.

export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const RUN_STATUSES: RunStatus[] = ["queued", "running", "succeeded", "failed", "cancelled"];
export const ACTIVE_STATUSES: RunStatus[] = ["queued", "running"];

export interface RunSummary {
  id: string;
  name: string;
  status: RunStatus;
  tags: string[];
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  step: number | null;
  total_steps: number | null;
  last_reward: number | null;
  reward_sparkline: number[];
  attempts: number;
  error: string | null;
  /** A cancel was asked for; the worker stops the run within a few seconds. */
  cancel_requested?: boolean;
  /** Worker queue: cpu or gpu. */
  queue?: string;
  /** Name of the user who submitted the run (null for runs from before users existed). */
  owner?: string | null;
  project?: string;
  /** Where the run executes: `local` (a worker's child process) or `ray` (a Ray Job). */
  executor?: string;
  /** Hosts the run spans. */
  nodes?: number;
  /** Learner processes (ranks). */
  ranks?: number;
  sweep_id?: string | null;
  /** Why a queued run is not starting, or null. */
  waiting_reason?: string | null;
  notes?: string;
  /** Hidden from the default runs list. */
  archived?: boolean;
}

/** PATCH /runs/{id}: only the fields sent change. */
export interface RunPatch {
  name?: string;
  tags?: string[];
  notes?: string;
  archived?: boolean;
}

export interface StatusChange {
  status: RunStatus;
  at: string;
  reason: string | null;
}

export interface Finding {
  rule: string;
  name: string;
  severity: "error" | "warning" | "info";
  message: string;
  why: string;
  fix: string;
  pointer: string;
  line: number | null;
  column: number | null;
  from_default: boolean;
  allowed: boolean;
  allow_reason: string | null;
  doc?: string;
}

export interface RunDetail extends RunSummary {
  config: Record<string, unknown>;
  config_text: string;
  findings: Finding[];
  history: StatusChange[];
  summary: Record<string, unknown> | null;
}

export interface RunList {
  items: RunSummary[];
  total: number;
}

export interface MetricPoint {
  step: number;
  metrics: Record<string, number>;
}

export interface LogLine {
  seq: number;
  at: string;
  line: string;
}

export interface LintResponse {
  path: string | null;
  format: string;
  findings: Finding[];
}

export interface Rule {
  id: string;
  name: string;
  severity: "error" | "warning" | "info";
  title: string;
  why: string;
  fix: string;
  markdown?: string;
}

export interface Template {
  name: string;
  title: string;
  description: string;
  config_text: string;
}

export interface FieldErrorItem {
  pointer?: string;
  field?: string;
  message: string;
  line?: number | null;
  column?: number | null;
}

export interface ErrorDetail {
  code: string;
  message: string;
  errors?: FieldErrorItem[];
  findings?: Finding[];
}
