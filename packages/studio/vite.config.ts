import { defineConfig } from "vite";

// The gateway serves index.html for every /studio/* path (the router reads the URL) and the
// built files under /studio/assets/, so asset URLs are absolute and work at any depth.
export default defineConfig({
  base: "/studio/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    // One bundle of the shell and its pages, about 200 kB gzipped: the dashboard is opened by a
    // few people who keep it open, so one request beats splitting and its waterfall.
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      onwarn(warning, warn) {
        // "use client" in React libraries: meaningful to server components only, not here.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
});
