// Shapes of /api/v1/webhooks (api/routers/webhooks.py) and the pure helpers of the Webhooks page.

import type { components } from "./schema.gen";

type Schemas = components["schemas"];

export type Webhook = Schemas["WebhookOut"];
export type WebhookList = Schemas["WebhookList"];
export type WebhookCreate = Schemas["WebhookCreate"];
export type WebhookTest = Schemas["WebhookTest"];
export type WebhookEvent = NonNullable<WebhookCreate["events"]>[number];
export type Me = Schemas["Me"];

/** Every event the API accepts, with the form's label (a Record: the compiler insists on each one, no more). */
export const EVENT_LABELS: Record<WebhookEvent, string> = {
  "run.succeeded": "a run succeeded",
  "run.failed": "a run failed",
  "run.cancelled": "a run was cancelled",
  "sweep.finished": "a sweep's last run ended",
};
export const WEBHOOK_EVENTS = Object.keys(EVENT_LABELS) as WebhookEvent[];

/** Whose runs a webhook hears, as the list says it: "project P", "mine" or "runs of NAME" (an admin's view). */
export function scopeLabel(hook: Pick<Webhook, "project" | "user">, me: string): string {
  if (hook.project !== null) return `project ${hook.project}`;
  if (hook.user === me) return "mine";
  return hook.user === null ? "runs of a removed user" : `runs of ${hook.user}`;
}

/** The POST body of the add form, or why it cannot be sent yet (the button's reason). */
export function createBody(
  url: string,
  events: ReadonlySet<WebhookEvent>,
  project: string,
): { body: WebhookCreate; why: null } | { body: null; why: string } {
  const target = url.trim();
  if (!target) return { body: null, why: "Enter the URL to POST to (a Slack incoming webhook works as is)." };
  if (events.size === 0) return { body: null, why: "Tick at least one event." };
  // the server's order, whatever order the boxes were ticked in
  const body: WebhookCreate = { url: target, events: WEBHOOK_EVENTS.filter((e) => events.has(e)) };
  if (project) body.project = project;
  return { body, why: null };
}
