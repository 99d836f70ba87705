import { Component, type ErrorInfo, type ReactNode } from "react";

/** A bug in one page shows a message with a way out instead of a blank window. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("page crashed", error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <main id="main">
        <div className="error-box" role="alert">
          <strong>This page hit a bug:</strong> {this.state.error.message}. Reload the page; if it happens again,
          please report it with what you were doing.
        </div>
        <button onClick={() => window.location.reload()}>Reload</button>
      </main>
    );
  }
}
