import { connect, createServer, type Socket } from "node:net";
import type { AddCleanup } from "../bench/run-with-cleanups.ts";

export interface TcpProxy {
  url: string;
  /** Closes every connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  readonly isCut: boolean;
}

/**
 * A TCP proxy between the gateways and anvil: cutting it is an RPC outage as a gateway sees one
 * (connections reset, new ones refused), while the script itself talks to anvil directly.
 */
export async function startTcpProxy(targetUrl: string, addCleanup: AddCleanup): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let isCut = false;
  const server = createServer((inbound) => {
    if (isCut) {
      inbound.destroy();
      return;
    }
    const outbound = connect({ host: target.hostname, port: Number(target.port) });
    sockets.add(inbound);
    sockets.add(outbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on("error", close).on("close", close);
    outbound.on("error", close).on("close", close);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  addCleanup("stop RPC proxy", async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      isCut = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      isCut = false;
    },
    get isCut() {
      return isCut;
    },
  };
}
