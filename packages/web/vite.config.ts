import { defineConfig } from "vite";

// The gateway serves index.html itself (at /pay/{id}) and the built files under /checkout/, so
// every asset URL in the page is absolute and works at any /pay/ path and inside an iframe.
export default defineConfig({
  base: "/checkout/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Phones on slow networks: one small JS file beats many requests; no source of truth is lost.
    sourcemap: false,
    target: "es2020",
  },
});
