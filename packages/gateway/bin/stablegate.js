#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx, so there is no build step between
// a clone and a running gateway.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
