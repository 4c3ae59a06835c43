export type { Abi, Hex } from "viem";
export { type CompiledContract, compileTestUsdt } from "./compile.ts";
