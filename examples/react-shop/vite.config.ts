import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defaultClientConditions, defineConfig, loadEnv, type Plugin } from "vite";
import { react18Aliases } from "../../packages/react-18/aliases.ts";

/** The dev server's fixed port: its origin (http://localhost:5173) is what the client must allow. */
export const DEV_PORT = 5173;

interface SandboxFile {
  api_base_url: string;
  client_id: string;
  origin: string;
}

// `npm start` writes the sandbox's credentials here; STABLEGATE_SANDBOX_FILE points elsewhere
// (the browser test uses a sandbox of its own), and VITE_STABLEGATE_* skip the file entirely
// for a gateway that is not the sandbox.
const sandboxFile =
  process.env.STABLEGATE_SANDBOX_FILE ??
  fileURLToPath(new URL("../../data/sandbox.json", import.meta.url));

function gatewaySettings(env: Record<string, string>): {
  clientId: string;
  baseUrl: string;
  sandbox?: SandboxFile;
} {
  const clientId = env.VITE_STABLEGATE_CLIENT_ID;
  const baseUrl = env.VITE_STABLEGATE_BASE_URL;
  if (clientId && baseUrl) return { clientId, baseUrl };
  let sandbox: SandboxFile;
  try {
    sandbox = JSON.parse(readFileSync(sandboxFile, "utf8")) as SandboxFile;
  } catch {
    throw new Error(
      `No sandbox credentials at ${sandboxFile}. Start the sandbox first (\`npm start\` at the repository root), or set VITE_STABLEGATE_CLIENT_ID and VITE_STABLEGATE_BASE_URL.`,
    );
  }
  return {
    clientId: clientId ?? sandbox.client_id,
    baseUrl: baseUrl ?? sandbox.api_base_url,
    sandbox,
  };
}

/**
 * Asks the gateway, as a browser's preflight would, whether the dev server's origin is allowed,
 * and says how to allow it when not: otherwise the first click fails with a bare CORS error.
 */
function originCheck(settings: ReturnType<typeof gatewaySettings>): Plugin {
  return {
    name: "stablegate-origin-check",
    apply: "serve",
    configureServer(server) {
      server.httpServer?.once("listening", async () => {
        const origin = `http://localhost:${server.config.server.port ?? DEV_PORT}`;
        const res = await fetch(`${settings.baseUrl}/v1/studio/api/payment/intent`, {
          method: "OPTIONS",
          headers: {
            Origin: origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-client-id",
          },
        }).catch(() => undefined);
        const log = server.config.logger;
        if (res === undefined) {
          log.warn(
            `\n  The gateway at ${settings.baseUrl} does not answer. Is the sandbox running (\`npm start\`)?\n`,
          );
        } else if (res.status !== 204) {
          const origins = [settings.sandbox?.origin, origin].filter(Boolean).join(" ");
          log.warn(
            [
              "",
              `  The gateway does not allow this page's origin (${origin}) yet. Allow it once:`,
              "  stop `npm start`, then run at the repository root",
              "",
              `    npx stablegate client set-origins ${settings.clientId} ${origins}`,
              "",
              "  and `npm start` again (the sandbox keeps the origins you add).",
              "",
            ].join("\n"),
          );
        }
      });
    },
  };
}

/**
 * `REACT_VERSION=18` builds and serves the shop on React 18 (packages/react-18) instead of the
 * workspace's React 19: @stablegate/react supports both, and src/shop.test.ts runs on each.
 */
function reactAliases(version = process.env.REACT_VERSION) {
  if (version === undefined || version === "" || version === "19") return [];
  if (version === "18") return react18Aliases();
  throw new Error(`REACT_VERSION must be 18 or 19 (default 19), not ${JSON.stringify(version)}`);
}

export default defineConfig(({ mode }) => {
  // .env files and the environment (which wins), as Vite reads them for the page.
  const settings = gatewaySettings(
    loadEnv(mode, fileURLToPath(new URL(".", import.meta.url)), "VITE_"),
  );
  return {
    plugins: [react(), originCheck(settings)],
    define: {
      "import.meta.env.VITE_STABLEGATE_CLIENT_ID": JSON.stringify(settings.clientId),
      "import.meta.env.VITE_STABLEGATE_BASE_URL": JSON.stringify(settings.baseUrl),
    },
    resolve: {
      // The SDK's sources (its "@stablegate/source" export): no build of packages/react first.
      conditions: ["@stablegate/source", ...defaultClientConditions],
      dedupe: ["react", "react-dom"],
      alias: reactAliases(),
    },
    server: { host: "localhost", port: DEV_PORT, strictPort: true },
    preview: { host: "localhost", port: DEV_PORT, strictPort: true },
  };
});
