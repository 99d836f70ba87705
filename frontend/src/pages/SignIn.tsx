import { useState, type FormEvent } from "react";
import { api, ApiError } from "../api/client";
import { setToken } from "../api/auth";
import { ErrorBox } from "../components/ErrorBox";

export function SignIn({ notice }: { notice?: string }) {
  const [token, setValue] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError(new Error("Paste your API token first."));
    setBusy(true);
    setError(null);
    try {
      await api.me(t);
      setToken(t);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new Error("That token was not accepted. Check that you copied all of it.") : err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <form onSubmit={submit} className="card" aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to GRPO Lab</h1>
        {notice && <p className="notice">{notice}</p>}
        <p className="muted">
          <code>grpolab up</code> prints a sign-in link with your token and writes the token to{" "}
          <code>&lt;data-dir&gt;/first-token</code>. Open the link, or paste the token here.
        </p>
        <label htmlFor="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" autoFocus value={token}
          onChange={(e) => setValue(e.target.value)} />
        <button type="submit" className="primary" disabled={busy}>{busy ? "Checking…" : "Sign in"}</button>
        <ErrorBox error={error} title="Sign-in failed" />
      </form>
    </main>
  );
}
