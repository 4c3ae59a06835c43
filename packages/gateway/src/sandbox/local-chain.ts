import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { testUsdtAbi, testUsdtBytecode } from "@stablegate/contracts";
import {
  type Address,
  bytesToHex,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  isAddress,
  parseAbi,
  parseEther,
  parseUnits,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { ConfigError } from "../platform/config.ts";

export interface LocalChain {
  rpcUrl: string;
  evmChainId: number;
  tokenAddress: `0x${string}`;
  tokenSymbol: "USDT";
  tokenDecimals: 6;
  /**
   * The second test token, registered as USDC (6 decimals), with `usdc: true`: the same contract
   * as the test USDT (its on-chain symbol() reads USDT), deployed again; the payer holds 1,000,000.
   */
  usdcAddress?: Address;
  payerPrivateKey: `0x${string}`;
  payerAddress: `0x${string}`;
  /**
   * Tops `address` up to `target` test USDT (minted by the deployer, the token's owner) and ETH
   * when it holds less than half of either; returns what was added. Safe to call on every start.
   */
  topUp(
    address: Address,
    target: { token: bigint; eth: bigint },
  ): Promise<{ token: bigint; eth: bigint }>;
  stop(): Promise<void>;
}

export interface LocalChainLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface StartLocalChainOptions {
  /** Where chain state and the token address survive restarts; undefined = ephemeral chain. */
  dataDir?: string;
  port: number;
  host?: string;
  /** Interval mining period; fractions (e.g. 0.2) are accepted by anvil. Default 1. */
  blockTimeSeconds?: number;
  /**
   * The chain id anvil reports. Default anvil's own (31337); a real chain's id lets a gateway
   * follow anvil under that chain's key (`RPC_URLS_ARB`) and send transactions signed for it.
   */
  evmChainId?: number;
  /** Deploy a second test token too, for USDC (the sandbox; tests of the payer's choice). */
  usdc?: boolean;
  log: LocalChainLog;
}

/** Anvil's built-in accounts come from this mnemonic; passed explicitly so the two cannot drift. */
const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
const TOKEN_DECIMALS = 6;
const PAYER_MINT = parseUnits("1000000", TOKEN_DECIMALS);
const PAYER_MIN_ETH = parseEther("10");
const PAYER_TOP_UP_ETH = parseEther("10000");
const STATE_FILE = "anvil-state.json";
const META_FILE = "local-chain.json";
/** Anvil's pid while it runs: a sandbox killed with -9 leaves anvil behind, the next start reaps it. */
const PID_FILE = "anvil.pid";
const STATE_INTERVAL_SECONDS = 5;
const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_TAIL_CHARS = 4_000;

const mintAbi = parseAbi(["function mint(address to, uint256 value)"]);
const balanceOfAbi = parseAbi(["function balanceOf(address) view returns (uint256)"]);

/**
 * Starts anvil with the sandbox's test USDT deployed and a funded payer account.
 *
 * With a dataDir, anvil's state is dumped there (periodically and on stop), and a restart reuses
 * the same token, so deposit addresses and balances a developer has seen stay valid.
 */
export async function startLocalChain(options: StartLocalChainOptions): Promise<LocalChain> {
  const { log } = options;
  const host = options.host ?? "127.0.0.1";
  const blockTimeSeconds = options.blockTimeSeconds ?? 1;
  const { port, dataDir } = options;
  const evmChainId = options.evmChainId ?? anvil.id;
  const chain = evmChainId === anvil.id ? anvil : defineChain({ ...anvil, id: evmChainId });

  const reaped = dataDir !== undefined && (await reapOrphanedAnvil(join(dataDir, PID_FILE), log));

  // Without this check a second anvil would fail to bind, but the readiness probe would be
  // answered by whatever already listens there and we would deploy onto the wrong chain. An
  // orphan just stopped may hold the port a moment longer: its threads close their sockets after
  // its main thread is gone, which is all that /proc shows.
  await (reaped ? waitForPortFree(host, port) : assertPortFree(host, port));

  const args = [
    "--port",
    String(port),
    "--host",
    host,
    "--chain-id",
    String(evmChainId),
    "--block-time",
    String(blockTimeSeconds),
    "--mnemonic",
    ANVIL_MNEMONIC,
  ];
  let statePath: string | undefined;
  if (dataDir !== undefined) {
    statePath = join(dataDir, STATE_FILE);
    await mkdir(dataDir, { recursive: true });
    // `--state` loads the file if present and dumps on exit; the interval bounds what a crash
    // (no clean exit) can lose.
    args.push("--state", statePath, "--state-interval", String(STATE_INTERVAL_SECONDS));
  }

  const rpcUrl = `http://${urlHost(host)}:${port}`;
  const anvilProcess = spawnAnvil(args);
  const pidPath = dataDir === undefined ? undefined : join(dataDir, PID_FILE);
  if (pidPath !== undefined && anvilProcess.child.pid !== undefined) {
    await writeFile(pidPath, `${anvilProcess.child.pid}\n`);
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= anvilProcess
      .stop()
      .then(() => (pidPath === undefined ? undefined : rm(pidPath, { force: true })));
    return stopping;
  };

  try {
    await waitForRpc(rpcUrl, evmChainId, anvilProcess, statePath);
    log.info({ rpcUrl, pid: anvilProcess.child.pid, dataDir }, "anvil started");

    const pollingInterval = Math.max(50, Math.min(1_000, (blockTimeSeconds * 1_000) / 4));
    const publicClient = createPublicClient({
      chain,
      transport: http(rpcUrl),
      pollingInterval,
    });
    const deployer = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: 0 });
    const payer = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: 1 });
    const walletClient = createWalletClient({
      account: deployer,
      chain,
      transport: http(rpcUrl),
      pollingInterval,
    });

    const metaPath = dataDir === undefined ? undefined : join(dataDir, META_FILE);
    let tokenAddress =
      metaPath === undefined ? undefined : await readSavedToken(metaPath, evmChainId, log);
    if (tokenAddress !== undefined) {
      const code = await publicClient.getCode({ address: tokenAddress });
      if (code === undefined || code === "0x") {
        log.warn(
          { tokenAddress, statePath },
          "local chain state was lost (state file missing or older than the token); deploying a new test USDT, so earlier balances and deposit addresses are gone",
        );
        tokenAddress = undefined;
      }
    }

    if (tokenAddress === undefined) {
      const deployHash = await walletClient.deployContract({
        abi: testUsdtAbi,
        bytecode: testUsdtBytecode,
      });
      const deployReceipt = await publicClient.waitForTransactionReceipt({ hash: deployHash });
      if (deployReceipt.status !== "success" || !deployReceipt.contractAddress) {
        throw new Error(`Deploying TestUSDT failed (transaction ${deployHash})`);
      }
      // Receipts carry the address in lower case; checksummed is what people paste into wallets.
      tokenAddress = getAddress(deployReceipt.contractAddress);

      const mintHash = await walletClient.writeContract({
        address: tokenAddress,
        abi: mintAbi,
        functionName: "mint",
        args: [payer.address, PAYER_MINT],
      });
      const mintReceipt = await publicClient.waitForTransactionReceipt({ hash: mintHash });
      if (mintReceipt.status !== "success") {
        throw new Error(`Minting test USDT to the payer failed (transaction ${mintHash})`);
      }
      if (metaPath !== undefined) {
        const meta: SavedToken = { tokenAddress, evmChainId };
        await writeFile(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
      }
      log.info({ tokenAddress, payer: payer.address }, "deployed test USDT and minted to payer");
    } else {
      log.info({ tokenAddress }, "reusing test USDT from previous run");
    }

    let usdcAddress: Address | undefined;
    if (options.usdc) {
      usdcAddress = metaPath === undefined ? undefined : await readSavedUsdc(metaPath);
      if (usdcAddress !== undefined) {
        const code = await publicClient.getCode({ address: usdcAddress });
        if (code === undefined || code === "0x") usdcAddress = undefined;
      }
      if (usdcAddress === undefined) {
        const hash = await walletClient.deployContract({
          abi: testUsdtAbi,
          bytecode: testUsdtBytecode,
        });
        const receipt = await publicClient.waitForTransactionReceipt({ hash });
        if (receipt.status !== "success" || !receipt.contractAddress) {
          throw new Error(`Deploying the test USDC failed (transaction ${hash})`);
        }
        usdcAddress = getAddress(receipt.contractAddress);
        const mintHash = await walletClient.writeContract({
          address: usdcAddress,
          abi: mintAbi,
          functionName: "mint",
          args: [payer.address, PAYER_MINT],
        });
        const mintReceipt = await publicClient.waitForTransactionReceipt({ hash: mintHash });
        if (mintReceipt.status !== "success") {
          throw new Error(`Minting test USDC to the payer failed (transaction ${mintHash})`);
        }
        if (metaPath !== undefined) {
          const meta: SavedToken = { tokenAddress, evmChainId, usdcAddress };
          await writeFile(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
        }
        log.info({ usdcAddress }, "deployed test USDC and minted to payer");
      }
    }

    // The payer pays gas for its test transfers; a long-lived sandbox can run it dry.
    const payerEth = await publicClient.getBalance({ address: payer.address });
    if (payerEth < PAYER_MIN_ETH) {
      const testClient = createTestClient({ mode: "anvil", chain, transport: http(rpcUrl) });
      await testClient.setBalance({ address: payer.address, value: PAYER_TOP_UP_ETH });
    }

    const payerPrivateKey = payer.getHdKey().privateKey;
    if (!payerPrivateKey) throw new Error("Could not derive the payer's private key");

    const token = tokenAddress;
    const topUp: LocalChain["topUp"] = async (address, target) => {
      const [tokens, eth] = await Promise.all([
        publicClient.readContract({
          address: token,
          abi: balanceOfAbi,
          functionName: "balanceOf",
          args: [address],
        }),
        publicClient.getBalance({ address }),
      ]);
      const added = { token: 0n, eth: 0n };
      if (tokens * 2n < target.token) {
        added.token = target.token - tokens;
        const hash = await walletClient.writeContract({
          address: token,
          abi: mintAbi,
          functionName: "mint",
          args: [address, added.token],
        });
        const receipt = await publicClient.waitForTransactionReceipt({ hash });
        if (receipt.status !== "success") throw new Error(`Minting test USDT failed (${hash})`);
      }
      if (eth * 2n < target.eth) {
        added.eth = target.eth - eth;
        const testClient = createTestClient({
          mode: "anvil",
          chain,
          transport: http(rpcUrl),
        });
        await testClient.setBalance({ address, value: target.eth });
      }
      return added;
    };

    return {
      rpcUrl,
      evmChainId,
      tokenAddress,
      tokenSymbol: "USDT",
      tokenDecimals: TOKEN_DECIMALS,
      ...(usdcAddress === undefined ? {} : { usdcAddress }),
      payerPrivateKey: bytesToHex(payerPrivateKey),
      payerAddress: payer.address,
      topUp,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface SavedToken {
  tokenAddress: Address;
  evmChainId: number;
  usdcAddress?: Address;
}

/** The saved test USDC; undefined when none was saved (an older sandbox) or unreadable. */
async function readSavedUsdc(path: string): Promise<Address | undefined> {
  try {
    const saved = JSON.parse(await readFile(path, "utf8")) as Partial<SavedToken>;
    return typeof saved.usdcAddress === "string" && isAddress(saved.usdcAddress)
      ? getAddress(saved.usdcAddress)
      : undefined;
  } catch {
    return undefined;
  }
}

async function readSavedToken(
  path: string,
  evmChainId: number,
  log: LocalChainLog,
): Promise<Address | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const saved = JSON.parse(text) as Partial<SavedToken>;
    if (typeof saved.tokenAddress === "string" && isAddress(saved.tokenAddress)) {
      if (saved.evmChainId === evmChainId) return getAddress(saved.tokenAddress);
    }
  } catch {
    // Fall through: an unreadable file is treated like lost state.
  }
  log.warn({ path }, "ignoring unreadable local chain metadata; deploying a new test USDT");
  return undefined;
}

interface AnvilProcess {
  child: ChildProcess;
  /** Resolves with anvil's exit code or signal once it has exited. */
  exited: Promise<string>;
  /** The last few KB of anvil's stdout and stderr, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

function spawnAnvil(args: string[]): AnvilProcess {
  const child = spawn(resolveAnvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  // Both pipes must be drained continuously: anvil logs every request and would block once a
  // pipe buffer fills.
  const collect = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`));
    child.once("error", (error) => resolve(`spawn error: ${error.message}`));
  });

  // Anvil is our child, not a daemon: if Node exits without stop(), take it down too. SIGTERM
  // (not SIGKILL) so it still dumps state; the 'exit' handler cannot wait for that, anvil can.
  const killOnExit = () => {
    child.kill("SIGTERM");
  };
  process.on("exit", killOnExit);
  void exited.then(() => process.off("exit", killOnExit));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      await exited;
      return;
    }
    // SIGINT is anvil's Ctrl-C path, which writes the `--state` dump before exiting.
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  return { child, exited, output: () => tail.trim(), stop };
}

/**
 * Stops the anvil that a previous sandbox on this data directory left running (its parent was
 * killed with -9, so nothing stopped it): SIGINT first, which dumps its state, then SIGKILL. The
 * pid is checked against the process's command line, so a recycled pid is left alone. Whether it
 * stopped one.
 */
async function reapOrphanedAnvil(pidPath: string, log: LocalChainLog): Promise<boolean> {
  let pid: number;
  let reaped = false;
  try {
    pid = Number((await readFile(pidPath, "utf8")).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  const statePath = join(dirname(pidPath), STATE_FILE);
  const isOurAnvil = () => {
    const command = commandLine(pid) ?? "";
    return command.includes("anvil") && command.includes(statePath);
  };
  if (Number.isInteger(pid) && pid > 0 && isOurAnvil()) {
    log.warn({ pid, pidPath }, "stopping the anvil left running by a sandbox that did not stop");
    process.kill(pid, "SIGINT");
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (isOurAnvil()) {
      if (Date.now() > deadline) {
        process.kill(pid, "SIGKILL");
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // SIGKILL is not instant either.
    while (isOurAnvil()) await new Promise((resolve) => setTimeout(resolve, 50));
    reaped = true;
  }
  await rm(pidPath, { force: true });
  return reaped;
}

/** A live process's command line, or undefined when it is gone (or a zombie). */
function commandLine(pid: number): string | undefined {
  try {
    if (existsSync("/proc")) {
      const text = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      return text.length > 0 ? text.replaceAll("\0", " ") : undefined;
    }
    const text = execFileSync("ps", ["-p", String(pid), "-o", "command="], { encoding: "utf8" });
    return text.trim() || undefined;
  } catch {
    return undefined;
  }
}

function resolveAnvilBinary(): string {
  // Mirrors @foundry-rs/anvil's own bin.mjs: the binary lives in an optional per-platform
  // package. Resolving from the wrapper package finds it wherever npm placed it.
  const arch = ({ x64: "amd64", arm64: "arm64" } as Record<string, string>)[process.arch];
  const packageName = `@foundry-rs/anvil-${process.platform}-${arch ?? process.arch}`;
  const binaryName = process.platform === "win32" ? "anvil.exe" : "anvil";
  const require = createRequire(import.meta.url);
  const wrapperRequire = createRequire(require.resolve("@foundry-rs/anvil/package.json"));
  try {
    return wrapperRequire.resolve(`${packageName}/bin/${binaryName}`);
  } catch {
    throw new Error(
      `No anvil binary for ${process.platform}-${process.arch}: package ${packageName} is not installed (@foundry-rs/anvil supports linux/darwin x64+arm64 and win32 x64)`,
    );
  }
}

async function waitForRpc(
  rpcUrl: string,
  evmChainId: number,
  anvilProcess: AnvilProcess,
  statePath: string | undefined,
): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let exitReason: string | undefined;
  void anvilProcess.exited.then((reason) => {
    exitReason = reason;
  });
  const describe = () => {
    const output = anvilProcess.output();
    const stateHint = statePath ? ` (state file: ${statePath})` : "";
    return `${stateHint}${output ? `\nanvil output:\n${output}` : ""}`;
  };

  while (true) {
    if (exitReason !== undefined) {
      throw new Error(`anvil exited during startup (${exitReason})${describe()}`);
    }
    const chainId = await probeChainId(rpcUrl);
    if (chainId !== undefined) {
      if (chainId !== evmChainId) {
        throw new Error(`anvil at ${rpcUrl} reports chain id ${chainId}, expected ${evmChainId}`);
      }
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `anvil did not answer at ${rpcUrl} within ${STARTUP_TIMEOUT_MS / 1_000}s${describe()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The chain id, or undefined while nothing answers yet. */
async function probeChainId(rpcUrl: string): Promise<number | undefined> {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await response.json()) as { result?: string };
    return body.result === undefined ? undefined : Number(body.result);
  } catch {
    return undefined;
  }
}

/** assertPortFree, tried again until STOP_TIMEOUT_MS passes. */
async function waitForPortFree(host: string, port: number): Promise<void> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (true) {
    try {
      return await assertPortFree(host, port);
    } catch (error) {
      if (!(error instanceof ConfigError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new ConfigError(
              `ANVIL_PORT: port ${port} on ${host} is already in use (is another sandbox running?)`,
            )
          : error,
      );
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

function urlHost(host: string): string {
  // A wildcard bind is reachable locally through loopback; IPv6 literals need brackets in URLs.
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
