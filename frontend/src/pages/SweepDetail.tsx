// One sweep: owned by the sweeps work of issue 14 (see docs/ui.md).

export function SweepDetail({ id }: { id: string }) {
  return (
    <main id="main">
      <h1>Sweep <code>{id}</code></h1>
    </main>
  );
}
