import {
  compileTestTokens,
  delegationCode,
  depositSweeperAbi,
  sweeperDeployment,
  testUsdtAbi,
} from "@stablegate/contracts";
import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeErrorResult,
  erc20Abi,
  getAddress,
  type Hex,
  type PrivateKeyAccount,
  parseEther,
  parseEventLogs,
  parseUnits,
  type SignedAuthorization,
  type TransactionReceipt,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalChain, startLocalChain } from "../sandbox/local-chain.ts";
import { freePort } from "../testing/cli-process.ts";
import { createTestLogger } from "../testing/test-logger.ts";
import { testTransport } from "../testing/test-transport.ts";

// The EIP-7702 sweeper on a real anvil (its default hardfork runs type-4 transactions): deposit
// addresses with no native coin delegate to it, and the operator moves their tokens in one
// transaction.

type SweepArg = {
  account: Address;
  token: Address;
  transfers: { to: Address; amount: bigint }[];
};

const USDT = (amount: string) => parseUnits(amount, 6);

const testTokens = compileTestTokens();
const mintAbi = [
  {
    type: "function",
    name: "mint",
    stateMutability: "nonpayable",
    inputs: [
      { name: "to", type: "address" },
      { name: "value", type: "uint256" },
    ],
    outputs: [],
  },
] as const;

let chain: LocalChain;
let publicClient: ReturnType<typeof createPublicClient>;
let operator: PrivateKeyAccount;
let stranger: PrivateKeyAccount;
let sweeper: Address;
let usdt: Address;
let falseToken: Address;
let noReturnToken: Address;
let reentrantToken: Address;
let longRevertToken: Address;

const transport = () => testTransport(chain.rpcUrl);
const walletOf = (account: PrivateKeyAccount) =>
  createWalletClient({ account, chain: anvil, transport: transport(), pollingInterval: 50 });

beforeAll(async () => {
  chain = await startLocalChain({ port: await freePort(), log: createTestLogger() });
  publicClient = createPublicClient({ chain: anvil, transport: transport(), pollingInterval: 50 });
  // Each transaction mined as it arrives: no waiting on the block interval.
  await createTestClient({ mode: "anvil", chain: anvil, transport: transport() }).setAutomine(true);
  usdt = chain.tokenAddress;
  operator = privateKeyToAccount(generatePrivateKey());
  stranger = privateKeyToAccount(generatePrivateKey());
  const testClient = createTestClient({ mode: "anvil", chain: anvil, transport: transport() });
  await testClient.setBalance({ address: operator.address, value: parseEther("100") });
  await testClient.setBalance({ address: stranger.address, value: parseEther("100") });

  // Anvil has the deterministic deployer at genesis, as mainnet and the major L2s do.
  const deployment = sweeperDeployment(operator.address);
  expect(await publicClient.getCode({ address: deployment.to })).toMatch(/^0x[0-9a-f]{4,}/);
  await mined(
    walletOf(operator).sendTransaction({ to: deployment.to, data: deployment.deployData }),
  );
  sweeper = deployment.address;
  expect(await publicClient.getCode({ address: sweeper })).toMatch(/^0x[0-9a-f]{100,}/);

  falseToken = await deploy(testTokens.FalseReturningToken);
  noReturnToken = await deploy(testTokens.NoReturnToken);
  reentrantToken = await deploy(testTokens.ReentrantToken);
  longRevertToken = await deploy(testTokens.LongRevertToken);
  await mined(
    walletOf(operator).writeContract({
      address: reentrantToken,
      abi: testTokens.ReentrantToken.abi,
      functionName: "setSweeper",
      args: [sweeper],
    }),
  );
});

afterAll(async () => {
  await chain?.stop();
});

async function mined(hash: Promise<Hex>): Promise<TransactionReceipt> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  expect(receipt.status).toBe("success");
  return receipt;
}

async function deploy(contract: { abi: Abi; bytecode: Hex }): Promise<Address> {
  const receipt = await mined(walletOf(operator).deployContract(contract));
  if (!receipt.contractAddress) throw new Error("no contract address");
  return getAddress(receipt.contractAddress);
}

/** A fresh deposit address holding `amount` of `token` and no native coin. */
async function deposit(token: Address, amount: bigint): Promise<PrivateKeyAccount> {
  const account = privateKeyToAccount(generatePrivateKey());
  if (token === usdt) {
    await mined(
      walletOf(privateKeyToAccount(chain.payerPrivateKey)).writeContract({
        address: usdt,
        abi: erc20Abi,
        functionName: "transfer",
        args: [account.address, amount],
      }),
    );
  } else {
    await mined(
      walletOf(operator).writeContract({
        address: token,
        abi: mintAbi,
        functionName: "mint",
        args: [account.address, amount],
      }),
    );
  }
  return account;
}

/** Funded one after another: the payer's transactions take its nonces in turn. */
async function deposits(token: Address, amounts: bigint[]): Promise<PrivateKeyAccount[]> {
  const accounts: PrivateKeyAccount[] = [];
  for (const amount of amounts) accounts.push(await deposit(token, amount));
  return accounts;
}

const recipient = (): Address => privateKeyToAccount(generatePrivateKey()).address;

function balanceOf(token: Address, owner: Address): Promise<bigint> {
  return publicClient.readContract({
    address: token,
    abi: erc20Abi,
    functionName: "balanceOf",
    args: [owner],
  });
}

/** The account's authorization delegating it to `contractAddress` (the sweeper by default). */
function authorize(
  account: PrivateKeyAccount,
  options: { contractAddress?: Address; nonce?: number } = {},
): Promise<SignedAuthorization> {
  return walletOf(operator).signAuthorization({
    account,
    contractAddress: options.contractAddress ?? sweeper,
    chainId: anvil.id,
    // A deposit address never sends a transaction, so its nonce is 0 until an authorization
    // applies (which raises it by one; the first test checks): each is authorized once here.
    nonce: options.nonce ?? 0,
  });
}

/** One type-4 (with authorizations) or ordinary transaction from the operator. */
async function sweepMany(sweeps: SweepArg[], authorizationList?: SignedAuthorization[]) {
  const receipt = await mined(
    walletOf(operator).writeContract({
      address: sweeper,
      abi: depositSweeperAbi,
      functionName: "sweepMany",
      args: [sweeps],
      ...(authorizationList === undefined ? {} : { authorizationList }),
    }),
  );
  const results = parseEventLogs({
    abi: depositSweeperAbi,
    logs: receipt.logs,
    eventName: "SweepResult",
  });
  for (const log of results) expect(getAddress(log.address)).toBe(sweeper);
  const swept = parseEventLogs({ abi: depositSweeperAbi, logs: receipt.logs, eventName: "Swept" });
  return {
    receipt,
    results: results.map((log) => ({ ...log.args, index: Number(log.args.index) })),
    swept: swept.map((log) => ({ account: getAddress(log.address), ...log.args })),
  };
}

/** The custom error a call reverts with, by name and arguments. */
async function revertOf(call: Promise<unknown>) {
  const error = await call.then(
    () => new Error("expected a revert, the call succeeded"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BaseError);
  const reverted = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError);
  expect(reverted, String(error)).toBeInstanceOf(ContractFunctionRevertedError);
  const data = (reverted as ContractFunctionRevertedError).data;
  return { errorName: data?.errorName, args: data?.args };
}

function decodeReason(reason: Hex) {
  return decodeErrorResult({ abi: depositSweeperAbi, data: reason });
}

const usdtErrors = testUsdtAbi;

describe("DepositSweeper", () => {
  it("sweeps three deposit addresses to two recipients each in one type-4 transaction", async () => {
    const [treasury, fee] = [recipient(), recipient()];
    const amounts = [USDT("10"), USDT("25.5"), USDT("0.03")];
    const accounts = await deposits(usdt, amounts);
    const fees = amounts.map((amount) => amount / 100n);
    const sweeps = accounts.map((account, i) => ({
      account: account.address,
      token: usdt,
      transfers: [
        { to: treasury, amount: (amounts[i] ?? 0n) - (fees[i] ?? 0n) },
        { to: fee, amount: fees[i] ?? 0n },
      ],
    }));

    const { receipt, results, swept } = await sweepMany(
      sweeps,
      await Promise.all(accounts.map((account) => authorize(account))),
    );

    expect(receipt.type).toBe("eip7702");
    expect(results).toEqual(
      accounts.map((account, index) => ({
        index,
        account: account.address,
        ok: true,
        reason: "0x",
      })),
    );
    // One Swept per transfer, emitted by the deposit address itself, in order.
    expect(swept).toEqual(
      sweeps.flatMap((sweep) =>
        sweep.transfers.map((t) => ({
          account: sweep.account,
          token: usdt,
          to: t.to,
          amount: t.amount,
        })),
      ),
    );
    const total = amounts.reduce((a, b) => a + b, 0n);
    const totalFee = fees.reduce((a, b) => a + b, 0n);
    expect(await balanceOf(usdt, treasury)).toBe(total - totalFee);
    expect(await balanceOf(usdt, fee)).toBe(totalFee);
    for (const account of accounts) {
      expect(await balanceOf(usdt, account.address)).toBe(0n);
      // No top-up: the gas was the operator's alone.
      expect(await publicClient.getBalance({ address: account.address })).toBe(0n);
      expect(await publicClient.getCode({ address: account.address })).toBe(
        delegationCode(sweeper),
      );
      // The applied authorization used nonce 0: a later one (another sweeper) must sign nonce 1.
      expect(await publicClient.getTransactionCount({ address: account.address })).toBe(1);
    }
  });

  it("sweeps an already delegated address again without an authorization", async () => {
    const to = recipient();
    const account = await deposit(usdt, USDT("3"));
    await sweepMany(
      [{ account: account.address, token: usdt, transfers: [{ to, amount: USDT("1") }] }],
      [await authorize(account)],
    );
    // More arrives later (a late payment, a second intent on the same address).
    await mined(
      walletOf(privateKeyToAccount(chain.payerPrivateKey)).writeContract({
        address: usdt,
        abi: erc20Abi,
        functionName: "transfer",
        args: [account.address, USDT("4")],
      }),
    );

    const { receipt, results } = await sweepMany([
      { account: account.address, token: usdt, transfers: [{ to, amount: USDT("6") }] },
    ]);

    expect(receipt.type).toBe("eip1559");
    expect(results).toEqual([{ index: 0, account: account.address, ok: true, reason: "0x" }]);
    expect(await balanceOf(usdt, to)).toBe(USDT("7"));
    expect(await balanceOf(usdt, account.address)).toBe(0n);
  });

  it("refuses every caller and entry point but the operator's sweepMany on the deployment", async () => {
    const account = await deposit(usdt, USDT("5"));
    await sweepMany(
      [{ account: account.address, token: usdt, transfers: [] }],
      [await authorize(account)],
    );
    const steal = [{ to: stranger.address, amount: USDT("5") }];
    const simulate = (
      from: PrivateKeyAccount,
      address: Address,
      call: { functionName: "sweep" } | { functionName: "sweepMany" },
    ) =>
      call.functionName === "sweep"
        ? publicClient.simulateContract({
            account: from,
            address,
            abi: depositSweeperAbi,
            functionName: "sweep",
            args: [usdt, steal],
          })
        : publicClient.simulateContract({
            account: from,
            address,
            abi: depositSweeperAbi,
            functionName: "sweepMany",
            args: [[{ account: account.address, token: usdt, transfers: steal }]],
          });

    // A stranger on the deployment, on the delegated address directly, or on its sweepMany.
    expect(await revertOf(simulate(stranger, sweeper, { functionName: "sweepMany" }))).toEqual({
      errorName: "NotOperator",
      args: [stranger.address],
    });
    expect(await revertOf(simulate(stranger, account.address, { functionName: "sweep" }))).toEqual({
      errorName: "NotFromDeployment",
      args: [stranger.address],
    });
    expect(
      await revertOf(simulate(stranger, account.address, { functionName: "sweepMany" })),
    ).toEqual({ errorName: "NotOperator", args: [stranger.address] });
    // Nor may the operator skip the deployment, or run sweepMany as a delegated address.
    expect(await revertOf(simulate(operator, account.address, { functionName: "sweep" }))).toEqual({
      errorName: "NotFromDeployment",
      args: [operator.address],
    });
    expect(
      await revertOf(simulate(operator, account.address, { functionName: "sweepMany" })),
    ).toEqual({ errorName: "NotDeployment", args: undefined });
    expect(await revertOf(simulate(operator, sweeper, { functionName: "sweep" }))).toEqual({
      errorName: "NotFromDeployment",
      args: [operator.address],
    });

    // And for real, on chain: the stranger's transaction reverts and moves nothing.
    const hash = await walletOf(stranger).writeContract({
      address: account.address,
      abi: depositSweeperAbi,
      functionName: "sweep",
      args: [usdt, steal],
      gas: 200_000n,
    });
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).toBe("reverted");
    expect(await balanceOf(usdt, account.address)).toBe(USDT("5"));
    expect(await balanceOf(usdt, stranger.address)).toBe(0n);
  });

  it("refuses a token calling back into sweep or sweepMany", async () => {
    const to = recipient();
    const account = await deposit(reentrantToken, 1_000n);

    const { receipt, results } = await sweepMany(
      [{ account: account.address, token: reentrantToken, transfers: [{ to, amount: 400n }] }],
      [await authorize(account)],
    );

    expect(results).toEqual([{ index: 0, account: account.address, ok: true, reason: "0x" }]);
    const reentered = parseEventLogs({
      abi: testTokens.ReentrantToken.abi,
      logs: receipt.logs,
      eventName: "Reentered",
    }).map((log) => {
      const { target, ok, reason } = log.args as { target: Address; ok: boolean; reason: Hex };
      return { target, ok, reason: ok ? reason : decodeReason(reason) };
    });
    expect(reentered).toEqual([
      {
        target: account.address,
        ok: false,
        reason: {
          abiItem: expect.anything(),
          errorName: "NotFromDeployment",
          args: [reentrantToken],
        },
      },
      {
        target: sweeper,
        ok: false,
        reason: { abiItem: expect.anything(), errorName: "NotOperator", args: [reentrantToken] },
      },
    ]);
    expect(await balanceOf(reentrantToken, to)).toBe(400n);
    expect(await balanceOf(reentrantToken, account.address)).toBe(600n);
    expect(await balanceOf(reentrantToken, reentrantToken)).toBe(0n);
  });

  it("reports each failing sweep in SweepResult and still makes the others", async () => {
    const to = recipient();
    const otherSweeper = sweeperDeployment(stranger.address);
    await mined(
      walletOf(stranger).sendTransaction({ to: otherSweeper.to, data: otherSweeper.deployData }),
    );
    const tokenWithoutCode = recipient();

    const aboveBalance = await deposit(usdt, USDT("5"));
    const good = await deposit(usdt, USDT("2"));
    const returnsFalse = await deposit(falseToken, 100n);
    const neverAuthorized = await deposit(usdt, USDT("1"));
    const staleAuthorization = await deposit(usdt, USDT("1"));
    const secondTransferFails = await deposit(usdt, USDT("3"));
    const delegatedElsewhere = await deposit(usdt, USDT("1"));
    const noCodeToken = await deposit(usdt, USDT("1"));
    const alsoGood = await deposit(usdt, USDT("4"));
    const longReason = await deposit(longRevertToken, 100n);

    const sweeps: SweepArg[] = [
      { account: aboveBalance.address, token: usdt, transfers: [{ to, amount: USDT("6") }] },
      { account: good.address, token: usdt, transfers: [{ to, amount: USDT("2") }] },
      { account: returnsFalse.address, token: falseToken, transfers: [{ to, amount: 101n }] },
      { account: neverAuthorized.address, token: usdt, transfers: [{ to, amount: USDT("1") }] },
      { account: staleAuthorization.address, token: usdt, transfers: [{ to, amount: USDT("1") }] },
      {
        account: secondTransferFails.address,
        token: usdt,
        transfers: [
          { to, amount: USDT("2") },
          { to, amount: USDT("2") },
        ],
      },
      { account: delegatedElsewhere.address, token: usdt, transfers: [{ to, amount: USDT("1") }] },
      { account: noCodeToken.address, token: tokenWithoutCode, transfers: [{ to, amount: 1n }] },
      { account: alsoGood.address, token: usdt, transfers: [{ to, amount: USDT("4") }] },
      { account: longReason.address, token: longRevertToken, transfers: [{ to, amount: 1n }] },
    ];
    const authorizations = await Promise.all([
      authorize(aboveBalance),
      authorize(good),
      authorize(returnsFalse),
      // Signed for a nonce the account does not have: the transaction goes through, this
      // authorization alone is skipped, as one signed before the account's nonce moved would be.
      authorize(staleAuthorization, { nonce: 1 }),
      authorize(secondTransferFails),
      authorize(delegatedElsewhere, { contractAddress: otherSweeper.address }),
      authorize(noCodeToken),
      authorize(alsoGood),
      authorize(longReason),
    ]);

    // sweepMany's return value, from the same transaction simulated first.
    const { result } = await publicClient.simulateContract({
      account: operator,
      address: sweeper,
      abi: depositSweeperAbi,
      functionName: "sweepMany",
      args: [sweeps],
      authorizationList: authorizations,
    });
    const { results, swept } = await sweepMany(sweeps, authorizations);

    expect(result).toEqual(results.map((r) => r.ok));
    expect(results.map((r) => [r.index, r.account, r.ok])).toEqual(
      sweeps.map((s, i) => [i, s.account, i === 1 || i === 8]),
    );
    const reasons = results.map((r) => (r.ok ? r.reason : decodeReason(r.reason)));
    const transferReverted = (index: number) => ({
      abiItem: expect.anything(),
      errorName: "TransferReverted",
      args: [BigInt(index), expect.any(String)],
    });
    expect(reasons).toEqual([
      transferReverted(0),
      "0x",
      { abiItem: expect.anything(), errorName: "TransferReturnedFalse", args: [0n] },
      {
        abiItem: expect.anything(),
        errorName: "AccountNotDelegated",
        args: [neverAuthorized.address],
      },
      {
        abiItem: expect.anything(),
        errorName: "AccountNotDelegated",
        args: [staleAuthorization.address],
      },
      transferReverted(1),
      {
        abiItem: expect.anything(),
        errorName: "AccountNotDelegated",
        args: [delegatedElsewhere.address],
      },
      { abiItem: expect.anything(), errorName: "TokenWithoutCode", args: [tokenWithoutCode] },
      "0x",
      transferReverted(0),
    ]);
    // The token's own revert reason travels inside TransferReverted.
    for (const index of [0, 5]) {
      const reason = reasons[index] as { args: readonly [bigint, Hex] };
      expect(decodeErrorResult({ abi: usdtErrors, data: reason.args[1] }).errorName).toBe(
        "InsufficientBalance",
      );
    }
    // Cut to its first 256 bytes (an Error(string) selector and the start of the string), so a
    // token reverting with megabytes cannot eat the batch's gas, and the wrapper still decodes.
    const long = (reasons[9] as { args: readonly [bigint, Hex] }).args[1];
    expect(long.length).toBe(2 + 2 * 256);
    expect(long.startsWith("0x08c379a0")).toBe(true);

    expect(swept).toEqual([
      { account: good.address, token: usdt, to, amount: USDT("2") },
      { account: alsoGood.address, token: usdt, to, amount: USDT("4") },
    ]);
    expect(await balanceOf(usdt, to)).toBe(USDT("6"));
    expect(await balanceOf(falseToken, to)).toBe(0n);
    // A sweep is all or nothing: the second transfer's failure took back the first.
    expect(await balanceOf(usdt, secondTransferFails.address)).toBe(USDT("3"));
    for (const [account, token, amount] of [
      [aboveBalance, usdt, USDT("5")],
      [returnsFalse, falseToken, 100n],
      [neverAuthorized, usdt, USDT("1")],
      [staleAuthorization, usdt, USDT("1")],
      [delegatedElsewhere, usdt, USDT("1")],
      [noCodeToken, usdt, USDT("1")],
      [longReason, longRevertToken, 100n],
    ] as const) {
      expect(await balanceOf(token, account.address)).toBe(amount);
    }
    expect(await publicClient.getCode({ address: neverAuthorized.address })).toBeUndefined();
    expect(await publicClient.getCode({ address: staleAuthorization.address })).toBeUndefined();
    expect(await publicClient.getCode({ address: delegatedElsewhere.address })).toBe(
      delegationCode(otherSweeper.address),
    );
  });

  it("sweeps a token whose transfer returns nothing, like mainnet USDT", async () => {
    const [treasury, fee] = [recipient(), recipient()];
    const account = await deposit(noReturnToken, 1_000n);
    const short = await deposit(noReturnToken, 10n);

    const { results } = await sweepMany(
      [
        {
          account: account.address,
          token: noReturnToken,
          transfers: [
            { to: treasury, amount: 990n },
            { to: fee, amount: 10n },
          ],
        },
        {
          account: short.address,
          token: noReturnToken,
          transfers: [{ to: treasury, amount: 11n }],
        },
      ],
      [await authorize(account), await authorize(short)],
    );

    expect(results.map((r) => r.ok)).toEqual([true, false]);
    // Its failures are reverts, which come through as such.
    const failure = decodeReason(results[1]?.reason ?? "0x");
    expect(failure.errorName).toBe("TransferReverted");
    const inner = (failure.args as readonly [bigint, Hex])[1];
    expect(decodeErrorResult({ abi: testTokens.NoReturnToken.abi, data: inner }).errorName).toBe(
      "InsufficientBalance",
    );
    expect(await balanceOf(noReturnToken, treasury)).toBe(990n);
    expect(await balanceOf(noReturnToken, fee)).toBe(10n);
    expect(await balanceOf(noReturnToken, account.address)).toBe(0n);
    expect(await balanceOf(noReturnToken, short.address)).toBe(10n);
  });

  it("lets a delegated address receive native coin", async () => {
    const account = await deposit(usdt, USDT("1"));
    await sweepMany(
      [{ account: account.address, token: usdt, transfers: [] }],
      [await authorize(account)],
    );
    expect(await publicClient.getCode({ address: account.address })).toBe(delegationCode(sweeper));

    await mined(
      walletOf(privateKeyToAccount(chain.payerPrivateKey)).sendTransaction({
        to: account.address,
        value: parseEther("0.5"),
      }),
    );

    expect(await publicClient.getBalance({ address: account.address })).toBe(parseEther("0.5"));
  });

  it("measures the gas of batches of 1 and 10 sweeps (printed, not asserted)", async () => {
    const [treasury, fee] = [recipient(), recipient()];
    // Recipients that already hold the token, as a treasury does: no first-write storage cost.
    const payer = walletOf(privateKeyToAccount(chain.payerPrivateKey));
    for (const to of [treasury, fee]) {
      await mined(
        payer.writeContract({
          address: usdt,
          abi: erc20Abi,
          functionName: "transfer",
          args: [to, 1n],
        }),
      );
    }

    const figures: string[] = [];
    for (const size of [1, 10]) {
      // Each batch empties its addresses, as a collection does; the second follows a second
      // payment to the same addresses.
      const accounts = await deposits(
        usdt,
        Array.from({ length: size }, () => USDT("10")),
      );
      const sweeps = accounts.map((account) => ({
        account: account.address,
        token: usdt,
        transfers: [
          { to: treasury, amount: USDT("9.9") },
          { to: fee, amount: USDT("0.1") },
        ],
      }));
      const first = await sweepMany(
        sweeps,
        await Promise.all(accounts.map((account) => authorize(account))),
      );
      for (const account of accounts) {
        await mined(
          payer.writeContract({
            address: usdt,
            abi: erc20Abi,
            functionName: "transfer",
            args: [account.address, USDT("10")],
          }),
        );
      }
      const again = await sweepMany(sweeps);
      expect(first.results.every((r) => r.ok) && again.results.every((r) => r.ok)).toBe(true);
      figures.push(
        `${size} sweep(s) of 2 transfers: ${first.receipt.gasUsed} gas with authorizations ` +
          `(${first.receipt.gasUsed / BigInt(size)} each), ${again.receipt.gasUsed} without ` +
          `(${again.receipt.gasUsed / BigInt(size)} each)`,
      );
    }
    console.info(`DepositSweeper gas on anvil:\n  ${figures.join("\n  ")}`);
  });
});
