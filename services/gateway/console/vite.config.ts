import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// Served by the gateway at /console under its CSP: no inline scripts or styles, no external origins,
// so nothing is inlined (assets, module-preload polyfill) and every asset name is hashed (immutable caching).
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/console/",
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
});
