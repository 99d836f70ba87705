// What the policy writes: each logged step keeps a few episodes (run.sample_episodes) with their prompt,
// completion, reward and advantage (GET /runs/{id}/samples). Latest step first; older steps page in on demand.

import { useEffect, useState } from "react";
import { artifacts, type SampleEpisode, type SampleStep, type RunId } from "../api/artifacts";
import { useLoad } from "../api/hooks";
import { formatNumber } from "../lib/format";
import { ErrorBox } from "./ErrorBox";
import "./artifacts.css";

const PAGE = 10;
const FOLD_CHARS = 160;

export function SampleEpisodes({ runId, active }: { runId: RunId; active: boolean }) {
  // while the run is active the newest page is polled; older pages are kept once loaded
  const latest = useLoad((s) => artifacts.samples(runId, { limit: PAGE }, s), [runId], active ? 5000 : 0);
  const [older, setOlder] = useState<SampleStep[]>([]);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [chosen, setChosen] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    setOlder([]);
    setChosen(null);
  }, [runId]);
  useEffect(() => {
    if (!older.length) setNextBefore(latest.data?.next_before ?? null);
  }, [latest.data, older.length]);

  const steps = mergeSteps(latest.data?.items ?? [], older);
  const shown = steps.find((s) => s.step === chosen) ?? steps[0];

  const loadOlder = async () => {
    if (nextBefore === null) return;
    setError(null);
    try {
      const page = await artifacts.samples(runId, { limit: PAGE, before: nextBefore });
      setOlder((o) => o.concat(page.items));
      setNextBefore(page.next_before);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section aria-labelledby="samples" data-testid="sample-episodes">
      <div className="section-head">
        <h2 id="samples">Sample episodes</h2>
        {steps.length > 0 && (
          <label>
            Step{" "}
            <select aria-label="sample step" value={shown?.step} onChange={(e) => setChosen(Number(e.target.value))}>
              {steps.map((s) => (
                <option key={s.step} value={s.step}>{s.step}</option>
              ))}
            </select>{" "}
            {nextBefore !== null && <button type="button" onClick={loadOlder}>Older steps</button>}
          </label>
        )}
      </div>
      <ErrorBox error={error ?? latest.error} title="Could not load the sample episodes" />
      {!shown ? (
        <p className="muted">
          {latest.loading && !latest.data ? "Loading…" : "No sample episodes yet: they appear once the run logs its first step (run.sample_episodes)."}
        </p>
      ) : (
        <div className="table-scroll">
          <table className="samples" data-step={shown.step}>
            <thead>
              <tr>
                <th scope="col" title="group · episode within the group">Group</th>
                <th scope="col">Prompt</th>
                <th scope="col">Completion</th>
                <th scope="col" className="num">Reward</th>
                <th scope="col" className="num" title="the estimator's advantage of the episode inside its group">Advantage</th>
              </tr>
            </thead>
            <tbody>
              {shown.episodes.map((e) => <EpisodeRow key={`${e.group}.${e.episode}`} e={e} />)}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function EpisodeRow({ e }: { e: SampleEpisode }) {
  const rewards = e.group_rewards.map((r) => formatNumber(r)).join(", ");
  return (
    <tr data-testid="sample-row" className={e.success ? "ok" : undefined}>
      <td>{e.group} · {e.episode}</td>
      <td><Folded text={e.prompt} /></td>
      <td>
        <Folded text={e.completion} />
        {e.turns > 1 && <span className="muted"> ({e.turns} turns)</span>}
        {e.truncated && <span className="muted" title="the text was cut; head and tail are kept"> (cut)</span>}
      </td>
      <td className="num" title={`group rewards: ${rewards}`}>{formatNumber(e.reward)}{e.success ? " ✓" : ""}</td>
      <td className="num">{formatNumber(e.advantage)}</td>
    </tr>
  );
}

/** Short text as is; long text folded to its first line(s), the rest behind a disclosure. */
function Folded({ text }: { text: string }) {
  if (!text) return <span className="muted">(empty)</span>;
  if (text.length <= FOLD_CHARS && !text.includes("\n")) return <code className="sample-text">{text}</code>;
  const head = text.slice(0, FOLD_CHARS).split("\n")[0];
  return (
    <details className="sample-fold">
      <summary><code className="sample-text">{head}</code> <span className="muted">… ({text.length} chars)</span></summary>
      <pre className="code sample-full">{text}</pre>
    </details>
  );
}

/** Latest first, each step once (a step in both lists keeps the newest copy). */
export function mergeSteps(latest: SampleStep[], older: SampleStep[]): SampleStep[] {
  const seen = new Set(latest.map((s) => s.step));
  return latest.concat(older.filter((s) => !seen.has(s.step))).sort((a, b) => b.step - a.step);
}
