// The Sweeps page: owned by the Sweeps work of issue 14 (see docs/ui.md).

export function Sweeps() {
  return (
    <main id="main">
      <h1>Sweeps</h1>
    </main>
  );
}
