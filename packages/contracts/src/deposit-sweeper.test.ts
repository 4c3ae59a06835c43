import { getAddress, keccak256, zeroAddress } from "viem";
import { describe, expect, it } from "vitest";
import { compileDepositSweeper, compileTestUsdt } from "./compile.ts";
import { DETERMINISTIC_DEPLOYER, delegationCode, sweeperDeployment } from "./deposit-sweeper.ts";
import { depositSweeperAbi, depositSweeperBytecode } from "./deposit-sweeper-artifact.ts";
import { testUsdtAbi, testUsdtBytecode } from "./test-usdt-artifact.ts";

const OPERATOR = getAddress("0x90f79bf6eb2c4f870365e785982e1f101e93b906");

describe("the committed sweeper artifact", () => {
  it("is what solc makes of contracts/DepositSweeper.sol", () => {
    const compiled = compileDepositSweeper();
    const hint =
      "src/deposit-sweeper-artifact.ts is stale: run npx tsx packages/contracts/scripts/write-artifacts.ts";
    expect(depositSweeperAbi, hint).toEqual(compiled.abi);
    expect(depositSweeperBytecode, hint).toBe(compiled.bytecode);
  });

  it("has the bytecode the sweeper's address was announced with", () => {
    // A new bytecode is a new CREATE2 address: every deposit address delegated to the old
    // sweeper needs a new authorization, and the old deployment's operator keeps control of the
    // accounts delegated to it. Change this hash only on purpose, and say why in docs/decisions.md.
    expect(keccak256(depositSweeperBytecode)).toMatchInlineSnapshot(
      `"0x72fe82739fc05e5ee2114a7e0bf53ccd8c0624a12e1115cbb1e8dabf2b6778d4"`,
    );
  });
});

describe("the committed TestUSDT artifact", () => {
  it("is what solc makes of contracts/TestUSDT.sol", () => {
    const compiled = compileTestUsdt();
    const hint =
      "src/test-usdt-artifact.ts is stale: run npx tsx packages/contracts/scripts/write-artifacts.ts";
    expect(testUsdtAbi, hint).toEqual(compiled.abi);
    expect(testUsdtBytecode, hint).toBe(compiled.bytecode);
  });
});

describe("sweeperDeployment", () => {
  it("is deterministic per operator, and differs between operators", () => {
    const a = sweeperDeployment(OPERATOR);
    expect(sweeperDeployment(OPERATOR.toLowerCase() as `0x${string}`)).toEqual(a);
    expect(a.to).toBe(DETERMINISTIC_DEPLOYER);
    expect(a.deployData.startsWith(`0x${"00".repeat(32)}`)).toBe(true);
    // The operator is the constructor's argument, the init code's last word.
    expect(a.deployData.endsWith(OPERATOR.slice(2).toLowerCase())).toBe(true);
    expect(sweeperDeployment(zeroAddress).address).not.toBe(a.address);
  });

  it("refuses an operator that is not an address, naming it", () => {
    expect(() => sweeperDeployment("0x1234" as `0x${string}`)).toThrow(
      "sweeperDeployment: operator 0x1234 is not an address",
    );
  });

  it("gives the code of an account delegated to the sweeper", () => {
    const { address } = sweeperDeployment(OPERATOR);
    expect(delegationCode(address)).toBe(`0xef0100${address.slice(2).toLowerCase()}`);
  });
});
