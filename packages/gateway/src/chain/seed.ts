import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { mnemonicToSeedSync, validateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { generateMnemonic } from "viem/accounts";

export class SeedError extends Error {
  override name = "SeedError";
}

/**
 * The operator's BIP-39 seed, from SEED_PHRASE or SEED_FILE. With `generateInto` (the sandbox),
 * a missing seed is created there with mode 0600 and reused on the next start. The phrase is
 * never logged or returned; only the derived seed bytes leave this function.
 */
export function loadSeed(options: {
  seedPhrase?: string | undefined;
  seedFile?: string | undefined;
  generateInto?: string | undefined;
}): Uint8Array {
  let phrase: string;
  let source: string;
  if (options.seedPhrase) {
    phrase = options.seedPhrase;
    source = "SEED_PHRASE";
  } else if (options.seedFile) {
    phrase = readPhrase(options.seedFile, "SEED_FILE");
    source = `SEED_FILE ${options.seedFile}`;
  } else if (options.generateInto) {
    const file = path.join(options.generateInto, "seed.txt");
    if (!existsSync(file)) {
      mkdirSync(options.generateInto, { recursive: true });
      writeFileSync(file, `${generateMnemonic(wordlist)}\n`, { mode: 0o600, flag: "wx" });
    }
    phrase = readPhrase(file, "sandbox seed");
    source = `sandbox seed ${file}`;
  } else {
    throw new SeedError(
      "no seed configured: set SEED_FILE (a file holding a BIP-39 phrase, mode 0600) or SEED_PHRASE",
    );
  }
  const normalised = phrase.trim().split(/\s+/).join(" ");
  if (!validateMnemonic(normalised, wordlist)) {
    throw new SeedError(`${source}: not a valid English BIP-39 mnemonic`);
  }
  return mnemonicToSeedSync(normalised);
}

function readPhrase(file: string, what: string): string {
  try {
    const mode = statSync(file).mode & 0o077;
    if (mode !== 0)
      throw new SeedError(`${what} ${file} must not be readable by group or others (chmod 600)`);
    return readFileSync(file, "utf8");
  } catch (err) {
    if (err instanceof SeedError) throw err;
    throw new SeedError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}
