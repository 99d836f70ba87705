import { ApiError } from "../api/client";
import { Link } from "../router";

/** An API or network error as a message a person can act on (fields listed with line numbers when known). */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const detail = error instanceof ApiError ? error.detail : { code: "client", message: describeUnknown(error) };
  const errors = "errors" in detail ? detail.errors ?? [] : [];
  const findings = "findings" in detail ? (detail.findings ?? []).filter((f) => f.severity === "error" && !f.allowed) : [];
  return (
    <div className="error-box" role="alert">
      <strong>{title ?? "Something went wrong"}:</strong> {detail.message}
      {errors.length > 0 && (
        <ul>
          {errors.map((e, i) => (
            <li key={i}>
              {e.line ? `line ${e.line}${e.column ? `:${e.column}` : ""} — ` : ""}
              {e.field ? <code>{e.field}</code> : null}
              {e.field ? ": " : ""}
              {e.message}
            </li>
          ))}
        </ul>
      )}
      {findings.length > 0 && (
        <ul>
          {findings.map((f, i) => (
            <li key={i}>
              <Link to={`/rules/${f.rule}`}>{f.rule}</Link>
              {f.line ? ` (line ${f.line})` : ""}: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function describeUnknown(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
