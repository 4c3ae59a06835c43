import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { mnemonicToSeedSync } from "@scure/bip39";
import { mnemonicToAccount } from "viem/accounts";
import { describe, expect, it, vi } from "vitest";
import { createTestDatabase } from "../testing/test-database.ts";
import { TEST_MNEMONIC } from "../testing/test-gateway.ts";
import { createDepositAddresses, createDepositAddressPool } from "./deposit-addresses.ts";
import { startDerivationThread } from "./derivation-thread.ts";
import { loadSeed, SeedError } from "./seed.ts";

describe("deposit addresses", () => {
  const addresses = createDepositAddresses(mnemonicToSeedSync(TEST_MNEMONIC));

  it("derives m/44'/60'/0'/0/i, the addresses a wallet shows for the same phrase", () => {
    // Anvil's first accounts, well known, from the same phrase and path.
    expect(addresses.addressAt(0)).toBe("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    expect(addresses.addressAt(1)).toBe("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    for (const i of [2, 17, 1000]) {
      expect(addresses.addressAt(i)).toBe(
        mnemonicToAccount(TEST_MNEMONIC, { addressIndex: i }).address,
      );
    }
  });

  it("refuses indexes outside the non-hardened range", () => {
    expect(() => addresses.addressAt(-1)).toThrow(RangeError);
    expect(() => addresses.addressAt(2 ** 31)).toThrow(RangeError);
    expect(() => addresses.addressAt(1.5)).toThrow(RangeError);
  });
});

describe("loadSeed", () => {
  const dir = () => mkdtempSync(path.join(tmpdir(), "sg-seed-"));

  it("generates a sandbox seed once, mode 0600, and reuses it", () => {
    const d = dir();
    const first = loadSeed({ generateInto: d });
    const file = path.join(d, "seed.txt");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim().split(" ")).toHaveLength(12);
    expect(loadSeed({ generateInto: d })).toEqual(first);
  });

  it("reads SEED_PHRASE and SEED_FILE to the same seed", () => {
    const file = path.join(dir(), "seed");
    writeFileSync(file, `  ${TEST_MNEMONIC}\n`, { mode: 0o600 });
    expect(loadSeed({ seedFile: file })).toEqual(loadSeed({ seedPhrase: TEST_MNEMONIC }));
  });

  it("refuses a missing seed, a readable file and an invalid phrase with a clear message", () => {
    expect(() => loadSeed({})).toThrow(/SEED_FILE/);
    const open = path.join(dir(), "seed");
    writeFileSync(open, TEST_MNEMONIC, { mode: 0o644 });
    expect(() => loadSeed({ seedFile: open })).toThrow(/chmod 600/);
    expect(() => loadSeed({ seedPhrase: "not a real phrase at all" })).toThrow(SeedError);
    expect(() => loadSeed({ seedFile: path.join(dir(), "missing") })).toThrow(/cannot read/);
  });
});

describe("the deposit address pool", () => {
  const addresses = createDepositAddresses(mnemonicToSeedSync(TEST_MNEMONIC));

  it("hands out each index once, with its address, derived on its thread once busy", async () => {
    const database = await createTestDatabase();
    // Every batch counts as busy: the third starts the thread; until it is ready (a second or
    // two), the batches are derived on the event loop, then on the thread.
    const pool = createDepositAddressPool({
      db: database.db,
      addresses,
      batch: 8,
      busyWithinMs: Number.POSITIVE_INFINITY,
    });
    try {
      const taken: Array<{ index: number; address: string }> = [];
      await vi.waitFor(
        async () => {
          taken.push(...(await Promise.all(Array.from({ length: 8 }, () => pool.take()))));
          expect(pool.derivedOffThread).toBeGreaterThan(0);
        },
        { timeout: 60_000, interval: 50 },
      );
      taken.push(...(await Promise.all(Array.from({ length: 40 }, () => pool.take()))));
      expect(new Set(taken.map((t) => t.index)).size).toBe(taken.length);
      for (const t of taken) expect(t.address).toBe(addresses.addressAt(t.index));
    } finally {
      await pool.close();
      await database.close();
    }
  });

  it("derives on the event loop when creates come one at a time", async () => {
    const database = await createTestDatabase();
    const pool = createDepositAddressPool({
      db: database.db,
      addresses,
      batch: 2,
      busyWithinMs: 0,
    });
    try {
      for (let i = 0; i < 6; i += 1) {
        const { index, address } = await pool.take();
        expect(address).toBe(addresses.addressAt(index));
      }
      expect(pool.derivedOffThread).toBe(0);
    } finally {
      await pool.close();
      await database.close();
    }
  });
});

describe("the derivation thread", () => {
  it("derives what the seed's holder derives, from the public key alone, and ends when closed", async () => {
    const addresses = createDepositAddresses(mnemonicToSeedSync(TEST_MNEMONIC));
    const thread = startDerivationThread(addresses.publicKey);
    const indexes = [0, 1, 2, 999, 2 ** 31 - 1];
    expect(await thread.derive(indexes)).toEqual(indexes.map((i) => addresses.addressAt(i)));
    expect(thread.ready).toBe(true);
    await thread.close();
    expect(thread.ended).toBe(true);
    expect(thread.failure).toBeUndefined();
    await expect(thread.derive([3])).rejects.toThrow(/ended/);
  });
});
