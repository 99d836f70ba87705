import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { absorbFragmentToken } from "./api/auth";
import { App } from "./App";
import "./styles.css";

absorbFragmentToken();
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
