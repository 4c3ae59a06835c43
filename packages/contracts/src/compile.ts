import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
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

let testUsdt: CompiledContract | undefined;
let depositSweeper: CompiledContract | undefined;
let testTokens: TestTokens | undefined;

/**
 * Compiles `contracts/TestUSDT.sol` with the bundled solc (no download, works offline).
 * Loading solc's WebAssembly build takes a second or two, so the result is kept for the life of
 * the process.
 */
export function compileTestUsdt(): CompiledContract {
  testUsdt ??= compile("TestUSDT.sol", ["TestUSDT"]).TestUSDT;
  return testUsdt;
}

/**
 * Compiles `contracts/DepositSweeper.sol`, the EIP-7702 sweeper. Its bytecode is its address
 * (a CREATE2 deployment, `sweeperDeployment`), so the metadata hash is left out: a change to a
 * comment must not move the sweeper to a new address, away from the accounts delegated to it.
 */
export function compileDepositSweeper(): CompiledContract {
  depositSweeper ??= compile("DepositSweeper.sol", ["DepositSweeper"], {
    bytecodeHash: "none",
  }).DepositSweeper;
  return depositSweeper;
}

/** The misbehaving tokens of `contracts/TestTokens.sol`, for tests of the sweeper. */
export interface TestTokens {
  /** `transfer` returns false, moving nothing, when the amount is above the balance. */
  FalseReturningToken: CompiledContract;
  /** `transfer` returns nothing, like mainnet USDT. */
  NoReturnToken: CompiledContract;
  /** `transfer` calls back into the sweeper first, and records whether it was let through. */
  ReentrantToken: CompiledContract;
  /** `transfer` always reverts, with a 1,000-character reason. */
  LongRevertToken: CompiledContract;
}

/** Compiles `contracts/TestTokens.sol` (test-only tokens; anyone may mint). */
export function compileTestTokens(): TestTokens {
  testTokens ??= compile("TestTokens.sol", [
    "FalseReturningToken",
    "NoReturnToken",
    "ReentrantToken",
    "LongRevertToken",
  ]);
  return testTokens;
}

function compile<Name extends string>(
  sourceName: string,
  contractNames: Name[],
  metadata?: { bytecodeHash: "none" },
): Record<Name, CompiledContract> {
  const source = readFileSync(new URL(`../contracts/${sourceName}`, import.meta.url), "utf8");
  const input = {
    language: "Solidity",
    sources: { [sourceName]: { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // Pinned rather than solc's newest default so the bytecode also deploys on testnets and
      // L2s that lag behind mainnet hardforks, and so the output does not change with solc.
      // Code run through an EIP-7702 delegation is ordinary code: Cancun opcodes run on Prague.
      evmVersion: "cancun",
      ...(metadata === undefined ? {} : { metadata }),
      outputSelection: {
        [sourceName]: Object.fromEntries(
          contractNames.map((name) => [name, ["abi", "evm.bytecode.object"]]),
        ),
      },
    },
  };
  // Required here, not imported at the top: solc's WebAssembly build holds about 100 MB for the
  // life of the process, and the gateway imports this package for the committed artifacts only.
  const solc = createRequire(import.meta.url)("solc") as { compile(input: string): string };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;

  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    const details = errors.map((e) => (e.formattedMessage ?? e.message).trim()).join("\n\n");
    throw new Error(`Compiling ${sourceName} failed with ${errors.length} error(s):\n\n${details}`);
  }

  const compiled = {} as Record<Name, CompiledContract>;
  for (const contractName of contractNames) {
    const contract = output.contracts?.[sourceName]?.[contractName];
    const bytecode = contract?.evm.bytecode.object;
    if (!contract || !bytecode) {
      throw new Error(`solc produced no bytecode for ${contractName} in ${sourceName}`);
    }
    compiled[contractName] = { abi: contract.abi, bytecode: `0x${bytecode}` };
  }
  return compiled;
}
