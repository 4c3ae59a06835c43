import type { Hex } from "viem";

export async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error || body.result === undefined)
    throw new Error(`${method}: ${body.error?.message ?? `HTTP ${res.status}, no result`}`);
  return body.result;
}

export const headNumber = async (url: string) => Number(await rpc<string>(url, "eth_blockNumber"));

export interface Receipt {
  blockNumber: number;
  status: string;
}

/** The receipts of mined transactions, in the order given; throws for one not mined. */
export async function receipts(rpcUrl: string, hashes: Hex[]): Promise<Receipt[]> {
  const out: Receipt[] = [];
  for (const hash of hashes) {
    const r = await rpc<{ blockNumber: string; status: string } | null>(
      rpcUrl,
      "eth_getTransactionReceipt",
      [hash],
    );
    if (r === null) throw new Error(`no receipt for ${hash}`);
    out.push({ blockNumber: Number(r.blockNumber), status: r.status });
  }
  return out;
}
