import { bytesToHex } from "viem";
import { HDKey, type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";

/**
 * The operator's signing keys, all derived from the one seed (BIP-32), each role on its own
 * account path so that a stuck queue of one role never holds another's nonces:
 *
 * - deposit addresses: m/44'/60'/0'/0/{index} (the same addresses as deposit-addresses.ts)
 * - an organisation's hot wallet (payouts): m/44'/60'/1'/0/{orgId}
 * - the gas wallet (native coin for deposit addresses): m/44'/60'/2'/0/0
 * - the operator's fee wallet (default fee address): m/44'/60'/3'/0/0
 */
export function createWallets(seed: Uint8Array) {
  const root = HDKey.fromMasterSeed(seed);
  const deposit = root.derive("m/44'/60'/0'/0");
  const hot = root.derive("m/44'/60'/1'/0");
  const account = (node: HDKey): PrivateKeyAccount => {
    if (!node.privateKey) throw new Error("derived key has no private key");
    return privateKeyToAccount(bytesToHex(node.privateKey));
  };
  const index = (i: number, what: string) => {
    if (!Number.isInteger(i) || i < 0 || i >= 2 ** 31)
      throw new RangeError(`${what} out of range: ${i}`);
    return i;
  };
  let gas: PrivateKeyAccount | undefined;
  let fee: PrivateKeyAccount | undefined;
  return {
    depositAccount: (i: number) => account(deposit.deriveChild(index(i, "deposit index"))),
    hotWallet: (orgId: number) => account(hot.deriveChild(index(orgId, "organisation id"))),
    gasWallet: () => {
      gas ??= account(root.derive("m/44'/60'/2'/0/0"));
      return gas;
    },
    feeWallet: () => {
      fee ??= account(root.derive("m/44'/60'/3'/0/0"));
      return fee;
    },
  };
}

export type Wallets = ReturnType<typeof createWallets>;
