import { readFileSync } from "node:fs";
import solc from "solc";
import type { Abi, Hex } from "viem";

export interface CompiledContract {
  abi: Abi;
  bytecode: Hex;
}

interface SolcError {
  severity: "error" | "warning" | "info";
  formattedMessage?: string;
  message: string;
}

interface SolcOutput {
  errors?: SolcError[];
  contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
}

const SOURCE_NAME = "TestUSDT.sol";
const CONTRACT_NAME = "TestUSDT";

let testUsdt: CompiledContract | undefined;

/**
 * Compiles `contracts/TestUSDT.sol` with the bundled solc (no download, works offline).
 * Loading solc's WebAssembly build takes a second or two, so the result is kept for the life of
 * the process.
 */
export function compileTestUsdt(): CompiledContract {
  testUsdt ??= compile(SOURCE_NAME, CONTRACT_NAME);
  return testUsdt;
}

function compile(sourceName: string, contractName: string): CompiledContract {
  const source = readFileSync(new URL(`../contracts/${sourceName}`, import.meta.url), "utf8");
  const input = {
    language: "Solidity",
    sources: { [sourceName]: { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // Pinned rather than solc's newest default so the bytecode also deploys on testnets and
      // L2s that lag behind mainnet hardforks, and so the output does not change with solc.
      evmVersion: "cancun",
      outputSelection: { [sourceName]: { [contractName]: ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;

  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    const details = errors.map((e) => (e.formattedMessage ?? e.message).trim()).join("\n\n");
    throw new Error(`Compiling ${sourceName} failed with ${errors.length} error(s):\n\n${details}`);
  }

  const contract = output.contracts?.[sourceName]?.[contractName];
  const bytecode = contract?.evm.bytecode.object;
  if (!contract || !bytecode) {
    throw new Error(`solc produced no bytecode for ${contractName} in ${sourceName}`);
  }
  return { abi: contract.abi, bytecode: `0x${bytecode}` };
}
