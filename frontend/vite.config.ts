import { defineConfig } from "vitest/config";

// No React plugin: esbuild compiles TSX with the automatic runtime, which is all we need (no fast refresh).
// `npm run dev` proxies the API to a local `grpolab up` so the UI can be developed against the real server.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: { "/api": { target: process.env.GRPOLAB_API ?? "http://127.0.0.1:8000", changeOrigin: false } },
  },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
