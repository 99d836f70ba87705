import { useEffect, useState, type ReactNode } from "react";
import { api, ApiError } from "./api/client";
import { getToken, onTokenChange, setToken, signOutNotice } from "./api/auth";
import { ErrorBox } from "./components/ErrorBox";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Compare } from "./pages/Compare";
import { NewRun } from "./pages/NewRun";
import { Rule, Rules } from "./pages/Rule";
import { RunDetail } from "./pages/RunDetail";
import { Queue } from "./pages/Queue";
import { Runs } from "./pages/Runs";
import { SignIn } from "./pages/SignIn";
import { SweepDetail } from "./pages/SweepDetail";
import { Sweeps } from "./pages/Sweeps";
import { Webhooks } from "./pages/Webhooks";
import { rememberMe, type Me } from "./lib/session";
import { Link, match, useLocation } from "./router";

function useAuth() {
  const [token, setTok] = useState(getToken());
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => onTokenChange(() => setTok(getToken())), []);
  useEffect(() => {
    setMe(null);
    setError(null);
    if (!token) return;
    const ctrl = new AbortController();
    api.get<Me>("/me", ctrl.signal).then((m) => {
      rememberMe(m, token);
      setMe(m);
    }).catch((e) => {
      if ((e as Error).name === "AbortError") return;
      // a 401 already signed us out (client.ts), with a notice for the sign-in page
      if (!(e instanceof ApiError && e.status === 401)) setError(e);
    });
    return () => ctrl.abort();
  }, [token]);
  return { token, me, error, notice: token ? undefined : signOutNotice() };
}

function route(pathname: string): ReactNode {
  let m: Record<string, string> | null;
  if (pathname === "/" || pathname === "/runs") return <Runs />;
  if (pathname === "/new") return <NewRun />;
  if (pathname === "/compare") return <Compare />;
  if (pathname === "/rules") return <Rules />;
  if (pathname === "/sweeps") return <Sweeps />;
  if (pathname === "/queue") return <Queue />;
  if (pathname === "/webhooks") return <Webhooks />;
  if ((m = match("/sweeps/:id", pathname))) return <SweepDetail key={m.id} id={m.id} />;
  if ((m = match("/runs/:id", pathname))) return <RunDetail key={m.id} id={m.id} />;
  if ((m = match("/rules/:id", pathname))) return <Rule id={m.id} />;
  return (
    <main id="main">
      <h1>Page not found</h1>
      <p>There is nothing at <code>{pathname}</code>. <Link to="/">Go to the runs</Link>.</p>
    </main>
  );
}

const NAV = [
  { to: "/", label: "Runs", active: (p: string) => p === "/" || p.startsWith("/runs") },
  { to: "/new", label: "New run", active: (p: string) => p === "/new" },
  { to: "/compare", label: "Compare", active: (p: string) => p === "/compare" },
  { to: "/sweeps", label: "Sweeps", active: (p: string) => p.startsWith("/sweeps") },
  { to: "/queue", label: "Queue", active: (p: string) => p === "/queue" },
  { to: "/webhooks", label: "Webhooks", active: (p: string) => p === "/webhooks" },
  { to: "/rules", label: "Lint rules", active: (p: string) => p.startsWith("/rules") },
];

export function App() {
  const { token, me, error, notice } = useAuth();
  const { pathname } = useLocation();
  // Signed out: nothing but the sign-in page.
  if (!token) return <SignIn notice={notice} />;
  if (!me) {
    return error ? (
      <main id="main" className="signin">
        <ErrorBox error={error} title="Cannot reach GRPO Lab" />
        <button onClick={() => window.location.reload()}>Try again</button> <button onClick={() => setToken(null)}>Sign out</button>
      </main>
    ) : <main id="main" className="signin"><p>Signing in…</p></main>;
  }
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link to="/" className="brand">GRPO Lab</Link>
        <nav aria-label="main">
          {NAV.map((n) => (
            <Link key={n.to} to={n.to} aria-current={n.active(pathname) ? "page" : undefined}>{n.label}</Link>
          ))}
        </nav>
        <span className="user">
          <span className="muted" data-testid="me">{me.name}</span>{" "}
          <button className="link-button" onClick={() => setToken(null)}>Sign out</button>
        </span>
      </header>
      <ErrorBoundary key={pathname}>{route(pathname)}</ErrorBoundary>
    </>
  );
}
