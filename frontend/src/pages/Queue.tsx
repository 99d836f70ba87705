// The Queue page: owned by the Queue work of issue 14 (see docs/ui.md).

export function Queue() {
  return (
    <main id="main">
      <h1>Queue</h1>
    </main>
  );
}
