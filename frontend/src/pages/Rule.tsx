import { api } from "../api/client";
import { useLoad } from "../api/hooks";
import type { Rule as RuleT } from "../api/types";
import { ErrorBox } from "../components/ErrorBox";
import { Markdown } from "../components/Markdown";
import { useDocumentTitle } from "../lib/session";
import { Link } from "../router";

export function Rule({ id }: { id: string }) {
  const rule = useLoad((s) => api.get<RuleT>(`/rules/${encodeURIComponent(id)}`, s), [id]);
  useDocumentTitle(`${id} lint rule`);
  return (
    <main id="main" className="rule-page">
      <p><Link to="/rules">← All rules</Link></p>
      <ErrorBox error={rule.error} title={`Could not load rule ${id}`} />
      {rule.data && (rule.data.markdown ? <Markdown source={rule.data.markdown} /> : (
        <>
          <h1>{rule.data.id} {rule.data.name}</h1>
          <p><strong>{rule.data.title}</strong></p>
          <h2>Why it matters</h2><p>{rule.data.why}</p>
          <h2>Fix</h2><p>{rule.data.fix}</p>
        </>
      ))}
    </main>
  );
}

export function Rules() {
  const rules = useLoad((s) => api.get<RuleT[]>("/rules", s), []);
  useDocumentTitle("Lint rules");
  return (
    <main id="main">
      <h1>Lint rules</h1>
      <ErrorBox error={rules.error} title="Could not load the rules" />
      <table>
        <thead><tr><th scope="col">Rule</th><th scope="col">Severity</th><th scope="col">What it catches</th></tr></thead>
        <tbody>
          {(rules.data ?? []).map((r) => (
            <tr key={r.id}>
              <td><Link to={`/rules/${r.id}`}>{r.id} {r.name}</Link></td>
              <td><span className={`sev sev-${r.severity}`}>{r.severity}</span></td>
              <td>{r.title}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
