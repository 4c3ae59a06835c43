/**
 * The EIP-681 URI of an ERC-20 transfer: wallets that scan it prefill token, chain, recipient and
 * amount, so the payer types nothing.
 */
export function erc20TransferUri(options: {
  tokenAddress: string;
  evmChainId: number | null;
  to: string;
  amountBaseUnits: string;
}): string {
  const chain = options.evmChainId === null ? "" : `@${options.evmChainId}`;
  return `ethereum:${options.tokenAddress}${chain}/transfer?address=${options.to}&uint256=${options.amountBaseUnits}`;
}
