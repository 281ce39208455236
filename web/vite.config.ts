import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The build goes into the Python package, which serves it at "/" (`podium console`).
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: { outDir: "../src/podium/console/static", emptyOutDir: true, chunkSizeWarningLimit: 600 },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
  test: { include: ["src/**/*.test.ts"] },
});
