import {
  type Address,
  concatHex,
  encodeDeployData,
  getAddress,
  getContractAddress,
  type Hex,
  isAddress,
  zeroHash,
} from "viem";
import { depositSweeperAbi, depositSweeperBytecode } from "./deposit-sweeper-artifact.ts";

/**
 * The deterministic deployment proxy (Arachnid's): `to` it, send a 32-byte salt followed by init
 * code and it CREATE2s the contract. Present at this address on anvil and on every major chain,
 * so a sweeper's address is the same wherever it is deployed.
 */
export const DETERMINISTIC_DEPLOYER: Address = "0x4e59b44847b379578588920ca78fbf26c0b4956c";

/** Fixed, so the address follows from the operator alone. */
export const SWEEPER_SALT: Hex = zeroHash;

export interface SweeperDeployment {
  /** Where the sweeper for this operator lives (or will, once deployed), on any chain. */
  address: Address;
  /** Send to `to` with this `data` (no value) to deploy it; a second send reverts. */
  to: Address;
  deployData: Hex;
}

/**
 * The CREATE2 deployment of the DepositSweeper whose operator is `operator` (the gateway's gas
 * wallet), through the deterministic deployer. Computed locally: deploy it only where
 * `getCode(address)` is empty.
 *
 * @example
 * const sweeper = sweeperDeployment(gasWallet.address);
 * if (!(await publicClient.getCode({ address: sweeper.address }))) {
 *   await walletClient.sendTransaction({ to: sweeper.to, data: sweeper.deployData });
 * }
 */
export function sweeperDeployment(operator: Address): SweeperDeployment {
  if (!isAddress(operator, { strict: false })) {
    throw new Error(`sweeperDeployment: operator ${String(operator)} is not an address`);
  }
  const initCode = encodeDeployData({
    abi: depositSweeperAbi,
    bytecode: depositSweeperBytecode,
    args: [getAddress(operator)],
  });
  return {
    address: getContractAddress({
      opcode: "CREATE2",
      from: DETERMINISTIC_DEPLOYER,
      salt: SWEEPER_SALT,
      bytecode: initCode,
    }),
    to: DETERMINISTIC_DEPLOYER,
    deployData: concatHex([SWEEPER_SALT, initCode]),
  };
}

/**
 * The code an account has once an EIP-7702 authorization delegating it to `sweeper` applied:
 * 0xef0100 followed by the address (lower case, as `eth_getCode` returns it). An account whose
 * code is anything else needs an authorization in the sweep's transaction.
 */
export function delegationCode(sweeper: Address): Hex {
  return `0xef0100${sweeper.slice(2).toLowerCase()}`;
}
