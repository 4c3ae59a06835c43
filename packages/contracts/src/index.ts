export type { Abi, Hex } from "viem";
export {
  type CompiledContract,
  compileDepositSweeper,
  compileTestTokens,
  compileTestUsdt,
  type TestTokens,
} from "./compile.ts";
export {
  DETERMINISTIC_DEPLOYER,
  delegationCode,
  SWEEPER_SALT,
  type SweeperDeployment,
  sweeperDeployment,
} from "./deposit-sweeper.ts";
export { depositSweeperAbi, depositSweeperBytecode } from "./deposit-sweeper-artifact.ts";
export { testUsdtAbi, testUsdtBytecode } from "./test-usdt-artifact.ts";
