// Webhooks: the ones the caller may see (masked URL, scope, events, last delivery), a form to add one (a URL and
// the events; admins may pick a project), "Send test" per webhook and delete after a confirmation. Viewers read.

import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, request } from "../api/client";
import { useLoad } from "../api/hooks";
import {
  createBody,
  EVENT_LABELS,
  scopeLabel,
  WEBHOOK_EVENTS,
  type Me,
  type Webhook,
  type WebhookEvent,
  type WebhookList,
  type WebhookTest,
} from "../api/webhooks";
import { ErrorBox } from "../components/ErrorBox";
import { formatTime } from "../lib/format";

const POLL_MS = 10_000; // deliveries change "last sent" in the background
const VIEWER_WHY = "A viewer reads webhooks; a member or an admin adds them.";

export function Webhooks() {
  const hooks = useLoad((s) => api.get<WebhookList>("/webhooks", s), [], POLL_MS);
  const me = useLoad((s) => api.get<Me>("/me", s), []);
  const items = hooks.data?.items ?? [];
  return (
    <main id="main">
      <div className="page-head">
        <h1>Webhooks</h1>
      </div>
      <p className="muted">
        A Slack-compatible message (<code>{'{"text", "blocks"}'}</code> plus <code>event</code> and the run or sweep) when a
        run ends and when a sweep's last run ends; a Slack incoming-webhook URL works as is. Also from the command line:{" "}
        <code>grpolab webhook add URL</code>.
      </p>
      <ErrorBox error={me.error} title="Could not load your account" />
      {me.data && <AddWebhook me={me.data} onAdded={hooks.reload} />}
      <section aria-labelledby="hooks-h">
        <h2 id="hooks-h">{me.data?.role === "admin" ? "Every webhook" : "Your webhooks"}</h2>
        <ErrorBox error={hooks.error} title="Could not load the webhooks" />
        {hooks.data && items.length === 0 && (
          <p className="empty" data-testid="no-webhooks">No webhooks yet.</p>
        )}
        {items.length > 0 && me.data && (
          <div style={{ overflowX: "auto" }}>
            <table className="runs webhooks" data-testid="webhooks">
              <thead>
                <tr>
                  <th scope="col">URL (masked)</th>
                  <th scope="col">Scope</th>
                  <th scope="col">Events</th>
                  <th scope="col">Last sent</th>
                  <th scope="col">Last error</th>
                  {/* a visible header: an .sr-only one is absolutely placed and escapes the scroll box at phone width */}
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {items.map((h) => (
                  <HookRow key={h.id} hook={h} me={me.data!} onChanged={hooks.reload} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </main>
  );
}

function AddWebhook({ me, onAdded }: { me: Me; onAdded: () => void }) {
  const viewer = me.role === "viewer";
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<Set<WebhookEvent>>(() => new Set(WEBHOOK_EVENTS));
  const [project, setProject] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [added, setAdded] = useState<Webhook | null>(null);
  const { body, why } = createBody(url, events, project);
  const reason = viewer ? VIEWER_WHY : why;

  const toggle = (e: WebhookEvent, on: boolean) =>
    setEvents((old) => {
      const next = new Set(old);
      if (on) next.add(e);
      else next.delete(e);
      return next;
    });
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    if (!body || viewer) return;
    setBusy(true);
    setError(null);
    setAdded(null);
    try {
      setAdded(await api.post<Webhook>("/webhooks", body));
      setUrl("");
      onAdded();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="add-webhook-h" className="add-webhook">
      <h2 id="add-webhook-h">Add a webhook</h2>
      {/* noValidate: the server's message names what is wrong with a URL (a browser bubble would not) */}
      <form onSubmit={submit} noValidate aria-describedby="webhook-why">
        <fieldset disabled={viewer} style={{ border: "none", padding: 0, margin: 0, minWidth: 0 }}>
          <div className="form-row">
            <label style={{ flex: "1 1 22em", minWidth: 0, display: "grid", gap: 4 }}>
              URL
              <input
                type="url"
                value={url}
                onChange={(e) => setUrl(e.target.value)}
                placeholder="https://hooks.slack.com/services/…"
                autoComplete="off"
                spellCheck={false}
                aria-describedby="webhook-url-help"
                style={{ width: "100%", minWidth: 0 }}
              />
            </label>
            {me.role === "admin" && (
              <label style={{ display: "grid", gap: 4 }}>
                Scope
                <select value={project} onChange={(e) => setProject(e.target.value)}>
                  <option value="">my own runs</option>
                  {me.projects.map((p) => (
                    <option key={p} value={p}>every run of project {p}</option>
                  ))}
                </select>
              </label>
            )}
          </div>
          <p id="webhook-url-help" className="muted h-small">
            The URL is a secret: once added, only its host and last 4 characters are shown.
            {me.role === "member" && " It hears your own runs and sweeps; an admin can add one for a whole project."}
          </p>
          <fieldset className="filters" style={{ border: "none", padding: 0, margin: "8px 0" }}>
            <legend>Send when</legend>
            {WEBHOOK_EVENTS.map((e) => (
              <label key={e}>
                <input type="checkbox" checked={events.has(e)} onChange={(ev) => toggle(e, ev.target.checked)} />{" "}
                {EVENT_LABELS[e]} <code className="muted">{e}</code>
              </label>
            ))}
          </fieldset>
          <div className="submit-row" style={{ flexWrap: "wrap" }}>
            <button className="primary" type="submit" data-testid="add-webhook" disabled={busy || reason !== null}>
              {busy ? "Adding…" : "Add webhook"}
            </button>
            <span id="webhook-why" className="muted">{reason ?? ""}</span>
          </div>
        </fieldset>
      </form>
      {added && (
        <p role="status" data-testid="webhook-added">
          Webhook {added.id} added: <code style={{ overflowWrap: "anywhere" }}>{added.url}</code>. Send it a test below.
        </p>
      )}
      <ErrorBox error={error} title="The webhook was not added" />
    </section>
  );
}

function HookRow({ hook, me, onChanged }: { hook: Webhook; me: Me; onChanged: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState<"test" | "delete" | null>(null);
  const [tested, setTested] = useState<WebhookTest | null>(null);
  const [error, setError] = useState<{ title: string; error: unknown } | null>(null);
  const keep = useRef<HTMLButtonElement>(null);
  const viewer = me.role === "viewer";
  useEffect(() => {
    if (confirming) keep.current?.focus();
  }, [confirming]);

  const sendTest = async () => {
    setBusy("test");
    setTested(null);
    setError(null);
    try {
      setTested(await api.post<WebhookTest>(`/webhooks/${hook.id}/test`));
      onChanged(); // its last sent / last error changed
    } catch (e) {
      setError({ title: "Could not send", error: e });
    } finally {
      setBusy(null);
    }
  };
  const remove = async () => {
    setBusy("delete");
    setError(null);
    try {
      await request<null>("DELETE", `/webhooks/${hook.id}`);
      onChanged();
    } catch (e) {
      setError({ title: "Could not delete", error: e });
      setConfirming(false);
      setBusy(null);
    }
  };

  return (
    <tr data-webhook-id={hook.id}>
      <td title={`added by ${hook.created_by ?? "a removed user"} on ${formatTime(hook.created_at)}`}>
        <code style={{ overflowWrap: "anywhere" }}>{hook.url}</code>
      </td>
      <td className="webhook-scope">{scopeLabel(hook, me.name)}</td>
      <td className="webhook-events">{hook.events.join(", ")}</td>
      <td className="webhook-last-sent">{hook.last_sent_at ? formatTime(hook.last_sent_at) : <span className="muted">never</span>}</td>
      <td className="webhook-last-error">{hook.last_error ? <span className="error-text">{hook.last_error}</span> : <span className="muted">—</span>}</td>
      <td>
        {confirming ? (
          <span className="confirm" role="group" aria-label="confirm delete">
            <span>Delete this webhook?</span>
            <button className="danger" disabled={busy !== null} onClick={remove}>Yes, delete it</button>
            <button ref={keep} onClick={() => setConfirming(false)}>Keep it</button>
          </span>
        ) : (
          <span className="actions" style={{ flexWrap: "wrap" }}>
            <button onClick={sendTest} disabled={viewer || busy !== null} title={viewer ? VIEWER_WHY : "POST a test message now"}>
              {busy === "test" ? "Sending…" : "Send test"}
            </button>
            <button onClick={() => setConfirming(true)} disabled={viewer || busy !== null} title={viewer ? VIEWER_WHY : "Remove it (asks first)"}>
              Delete…
            </button>
          </span>
        )}
        {tested && (
          <div role="status" data-testid="test-result" data-delivered={String(tested.delivered)} style={{ marginTop: 4 }}>
            {tested.delivered ? (
              <span className="status status-succeeded">delivered</span>
            ) : (
              <span className="error-text">not delivered: {tested.error}</span>
            )}
          </div>
        )}
        <ErrorBox error={error?.error} title={error?.title} />
      </td>
    </tr>
  );
}
