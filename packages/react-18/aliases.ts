import { createRequire } from "node:module";
import { dirname } from "node:path";

// React 18 lives in this folder's node_modules (the workspace's own react and react-dom are
// 19). Vite and vitest aliases point `react`, `react/*`, `react-dom` and `react-dom/*` here, so
// the same sources and tests run on React 18 too: vitest.config.ts (project "react-18") and
// examples/react-shop/vite.config.ts (REACT_VERSION=18).
const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/**
 * Vite `resolve.alias` entries that make `react` and `react-dom` (and their subpaths) React 18.
 *
 * @example
 * export default defineConfig({ resolve: { alias: react18Aliases() } });
 */
export function react18Aliases(): { find: RegExp; replacement: string }[] {
  return [
    { find: /^react(\/.*)?$/, replacement: `${packageDir("react")}$1` },
    { find: /^react-dom(\/.*)?$/, replacement: `${packageDir("react-dom")}$1` },
  ];
}
