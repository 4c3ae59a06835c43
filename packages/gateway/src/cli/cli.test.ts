import { createHash } from "node:crypto";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Secret, TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CliExit,
  type CliProcess,
  exitWithin,
  freePort,
  isListening,
  runCli,
  startCli,
  waitForHttp,
} from "../testing/cli-process.ts";
import { logoPng } from "../testing/logo-png.ts";
import { createScratchDatabase, type ScratchDatabase } from "../testing/scratch-postgres.ts";
import { TEST_MNEMONIC } from "../testing/test-gateway.ts";

// The production CLI as an operator meets it: `stablegate <command>` in a child process,
// configured through the environment. On PostgreSQL (DATABASE_URL set) the commands run against
// a fresh database of their own (the CLI has no schema setting); otherwise on PGlite in DATA_DIR.

const INTENT = "/v1/studio/api/payment/intent";
const SAMPLE = {
  fiat_amount: "300.0",
  fiat_currency: "TWD",
  order_data: { order_id: "uid_12345" },
  group_key: "buy_stone_with_usdt",
};

let dir: string;
let seedFile: string;
let database: ScratchDatabase;
const started: CliProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stablegate-cli-"));
  seedFile = join(dir, "seed.txt");
  await writeFile(seedFile, `${TEST_MNEMONIC}\n`, { mode: 0o600 });
  database = await createScratchDatabase();
});

afterAll(async () => {
  for (const proc of started) await proc.kill();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// A bound that catches a hang: a loaded CI machine takes far longer than a person would wait.
const STOP_TIMEOUT_MS = 30_000;

// serve quotes only with a rate source chosen on purpose; 31 (not the sandbox's 32.5) shows
// that the configured rate is the one used.
const STATIC_RATES = { RATES_PROVIDER: "static", RATES_TWD_PER_USD: "31" };

/** Settings shared by every command of one installation. */
function installation(extra: Record<string, string | undefined> = {}) {
  return {
    DATA_DIR: join(dir, "data"),
    DATABASE_URL: database.url,
    LOG_LEVEL: "warn",
    ...STATIC_RATES,
    ...extra,
  };
}

async function admin(args: string[]): Promise<any> {
  const r = await runCli(args, installation());
  expect(r.code, `stablegate ${args.join(" ")}\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
}

function expectNoStackTrace(r: CliExit) {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/node:internal|\.ts:\d+/);
}

async function serve(port: number) {
  // Debug level logs every request: the test below checks that secrets stay out of them.
  const proc = startCli(
    ["serve"],
    installation({ PORT: String(port), SEED_FILE: seedFile, LOG_LEVEL: "debug" }),
  );
  started.push(proc);
  await waitForHttp(`http://127.0.0.1:${port}/readyz`, proc, 120_000);
  return proc;
}

async function createIntent(port: number, headers: Record<string, string>) {
  const res = await fetch(`http://127.0.0.1:${port}${INTENT}`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify(SAMPLE),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe("an operator's first day", { timeout: 180_000 }, () => {
  let orgId: number;
  let clientId: string;
  let key: { id: number; api_key: string };

  it("creates an organisation, a client and an API key, and lists keys without the secret", async () => {
    const org = await admin(["org", "create", "--name", "Acme"]);
    expect(org).toMatchObject({ name: "Acme", defaultChainId: "arb", defaultTokenSymbol: "USDT" });
    expect(Number.isInteger(org.id)).toBe(true);
    orgId = org.id;

    const client = await admin([
      "client",
      "create",
      "--org",
      String(orgId),
      "--name",
      "web",
      "--origin",
      "https://shop.example",
    ]);
    expect(client).toMatchObject({ orgId, name: "web", allowedOrigins: ["https://shop.example"] });
    expect(client.clientId).toMatch(/^[0-9a-f]{32}$/);
    clientId = client.clientId;

    key = await admin(["key", "create", "--org", String(orgId)]);
    expect(Number.isInteger(key.id)).toBe(true);
    expect(key.api_key).toEqual(expect.any(String));
    expect(key.api_key.length).toBeGreaterThanOrEqual(20);

    const listed = await runCli(["key", "list", "--org", String(orgId)], installation());
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain(key.api_key);
    const keys = JSON.parse(listed.stdout);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ id: key.id, name: "default", revoked_at: null });
    expect(key.api_key.startsWith(keys[0].prefix)).toBe(true);
  });

  it("creates a Studio operator with a given or generated password, and refuses a short one", async () => {
    const short = await runCli(
      ["admin", "create-operator", "--email", "ops@example.com", "--password", "short"],
      installation(),
    );
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/password: must be at least 12 characters/);
    expectNoStackTrace(short);
    const given = await admin([
      "admin",
      "create-operator",
      "--email",
      "Ops@Example.com",
      "--password",
      "a long operator password",
    ]);
    expect(given).toMatchObject({ email: "ops@example.com", created: true });
    expect(given.password).toBeUndefined();
    // Again for the same email: promoted (already), the password kept, nothing printed.
    const again = await admin(["admin", "create-operator", "--email", "ops@example.com"]);
    expect(again).toMatchObject({ user_id: given.user_id, created: false });
    expect(again.password).toBeUndefined();
    const generated = await admin(["admin", "create-operator", "--email", "night@example.com"]);
    expect(generated.password).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("sets the treasury and the fee, refuses bad values, and shows the wallets to fund", async () => {
    const treasury = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    expect(await admin(["org", "set-treasury", String(orgId), treasury.toLowerCase()])).toEqual({
      org_id: orgId,
      treasury_address: treasury,
      fee_bps: 0,
    });
    expect(await admin(["org", "set-fee", String(orgId), "100"])).toMatchObject({ fee_bps: 100 });
    for (const args of [
      ["org", "set-fee", String(orgId), "10001"],
      ["org", "set-treasury", String(orgId), "0x123"],
      // One letter's case off: a typo the EIP-55 checksum catches.
      ["org", "set-treasury", String(orgId), "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc"],
      ["org", "set-fee", "99999999999", "100"],
    ]) {
      const r = await runCli(args, installation());
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^stablegate: (fee_bps|treasury_address|.*org_id.*): |^error: /);
      expectNoStackTrace(r);
    }
    const r = await runCli(["wallets"], installation({ SEED_FILE: seedFile }));
    expect(r.code, r.stderr).toBe(0);
    const wallets = JSON.parse(r.stdout);
    expect(wallets.gas_wallet).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(wallets.fee_address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(wallets.fee_address).not.toBe(wallets.gas_wallet);
  });

  it("serves intents for that key on arb, and refuses it after `key revoke`", async () => {
    const port = await freePort();
    const first = await serve(port);
    const byServer = await createIntent(port, { "X-STUDIO-API-KEY": key.api_key });
    expect(byServer.status, JSON.stringify(byServer.body)).toBe(200);
    expect(byServer.body.data).toMatchObject({
      payment_chain_id: "arb",
      symbol: "USDT",
      crypto_amount: "9.68", // 300 TWD at 31 TWD per USD
      client_id: clientId,
      org_id: orgId,
      status: "pending",
    });
    // The client's allowed origin works from a browser, without the key.
    const byBrowser = await createIntent(port, {
      "X-Client-ID": clientId,
      Origin: "https://shop.example",
    });
    expect(byBrowser.status, JSON.stringify(byBrowser.body)).toBe(200);
    expect(byBrowser.headers.get("access-control-allow-origin")).toBe("https://shop.example");

    first.signal("SIGTERM");
    const stopped = await exitWithin(first, STOP_TIMEOUT_MS);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(await isListening(port)).toBe(false);
    for (const secret of [TEST_MNEMONIC, key.api_key]) {
      expect(stopped.stdout).not.toContain(secret);
      expect(stopped.stderr).not.toContain(secret);
    }

    expect(await admin(["key", "revoke", String(key.id)])).toEqual({ revoked: key.id });

    const second = await serve(port);
    const refused = await createIntent(port, { "X-STUDIO-API-KEY": key.api_key });
    expect([refused.status, refused.body.code]).toEqual([401, 4002]);
    second.signal("SIGTERM");
    expect((await exitWithin(second, STOP_TIMEOUT_MS)).code).toBe(0);
  });

  it("refuses a client origin with a path, naming origin", async () => {
    const r = await runCli(
      [
        "client",
        "create",
        "--org",
        String(orgId),
        "--name",
        "bad",
        "--origin",
        "https://shop.example/path",
      ],
      installation(),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^stablegate: origin: .*https:\/\/shop\.example\/path/);
    expectNoStackTrace(r);
  });

  it("sets the hosts a client's browser creates may call back, and refuses one with a port", async () => {
    const set = await admin(["client", "set-callback-hosts", clientId, "Shop.Example", "*"]);
    expect(set).toMatchObject({ clientId, allowedCallbackHosts: ["shop.example", "*"] });
    const listed = await admin(["client", "list", "--org", String(orgId)]);
    expect(listed[0]).toMatchObject({ clientId, allowedCallbackHosts: ["shop.example", "*"] });
    expect(await admin(["client", "set-callback-hosts", clientId])).toMatchObject({
      allowedCallbackHosts: [],
    });
    const r = await runCli(
      ["client", "set-callback-hosts", clientId, "shop.example:8443"],
      installation(),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^stablegate: callback_host: "shop\.example:8443"/);
    expectNoStackTrace(r);
  });
});

// Admin commands while `serve` runs. On PGlite the gateway holds the embedded database and the
// CLI goes through DATA_DIR/admin.sock; on PostgreSQL the same commands open it directly.
// Either way: no downtime, the same output.
describe("admin commands on a running gateway", { timeout: 180_000 }, () => {
  const embedded = !process.env.DATABASE_URL;
  let port: number;
  let gateway: CliProcess;
  let orgId: number;
  let clientId: string;

  const preflight = (origin: string) =>
    fetch(`http://127.0.0.1:${port}${INTENT}`, {
      method: "OPTIONS",
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-client-id",
      },
    }).then((r) => r.headers.get("access-control-allow-origin"));

  async function stdoutOf(args: string[], extra: Record<string, string> = {}) {
    const r = await runCli(args, installation(extra));
    expect(r.code, `stablegate ${args.join(" ")}\n${r.stderr}`).toBe(0);
    return r.stdout;
  }

  it("create an organisation, a client and a key while serve runs", async () => {
    port = await freePort();
    gateway = await serve(port);
    orgId = (await admin(["org", "create", "--name", "Live"])).id;
    const client = await admin(["client", "create", "--org", String(orgId), "--name", "web"]);
    clientId = client.clientId;
    const key = await admin(["key", "create", "--org", String(orgId)]);
    expect(key).toMatchObject({ note: "shown once: store it now" });
    // The running gateway knows the new key at once.
    const created = await createIntent(port, { "X-STUDIO-API-KEY": key.api_key });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.data).toMatchObject({ org_id: orgId, client_id: clientId });
  });

  it("create a Studio operator while serve runs, who can then sign in", async () => {
    const email = `operator-${Date.now()}@example.com`;
    const made = await admin(["admin", "create-operator", "--email", email]);
    expect(made).toMatchObject({ email, created: true, password: expect.any(String) });
    const signIn = await fetch(`http://127.0.0.1:${port}/v1/admin/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: made.password }),
    });
    const body = (await signIn.json()) as any;
    expect(signIn.status, JSON.stringify(body)).toBe(200);
    expect(body.data.user).toMatchObject({ email, is_operator: true });
  });

  it("invite an organisation's first owner: the printed link opens the invitation", async () => {
    const email = `owner-${Date.now()}@example.com`;
    const base = `http://127.0.0.1:${port}`;
    const made = await admin(["org", "invite", String(orgId), "--email", email, "--url", base]);
    expect(made).toEqual({
      org_id: orgId,
      email,
      role: "owner",
      url: expect.stringMatching(new RegExp(`^${base}/studio/invite/[A-Za-z0-9_-]{43}$`)),
      expires_at: expect.any(String),
      // No SMTP_URL here (invitation-mail.test.ts sends mail).
      email_sent: false,
    });
    const token = made.url.split("/studio/invite/")[1];
    const opened = await fetch(`${base}/v1/admin/invitations/${token}`);
    expect(((await opened.json()) as any).data).toMatchObject({ org_name: "Live", role: "owner" });

    const wrong = await runCli(
      ["org", "invite", String(orgId), "--email", email, "--role", "boss", "--url", base],
      installation(),
    );
    expect([wrong.code, wrong.stderr.trim()]).toEqual([
      1,
      "error: option '--role <role>' argument 'boss' is invalid. Allowed choices are owner, admin, developer, viewer.",
    ]);
  });

  it("reset a lost password and a lost authenticator: the old password and sessions stop working", async () => {
    const email = `forgetful-${Date.now()}@example.com`;
    const made = await admin(["admin", "create-operator", "--email", email]);
    const signIn = (password: string, extra: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${port}/v1/admin/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password, ...extra }),
      });
    const first = await signIn(made.password);
    const { csrf_token: csrf } = ((await first.json()) as any).data;
    const studio = (method: string, path: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: {
          cookie: (first.headers.get("set-cookie") ?? "").split(";")[0] as string,
          "x-csrf-token": csrf,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    // Two-factor authentication on, with an authenticator the person then loses.
    const { secret } = ((await (await studio("POST", "/v1/admin/me/totp")).json()) as any).data;
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
    expect((await studio("POST", "/v1/admin/me/totp/confirm", { code })).status).toBe(200);

    const reset = await admin(["admin", "reset-password", "--email", email, "--clear-2fa"]);
    expect(reset).toEqual({
      user_id: made.user_id,
      email,
      password: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      second_factor: "turned off",
      sessions_ended: 1,
    });
    expect((await studio("GET", "/v1/admin/session")).status).toBe(401);
    expect((await signIn(made.password)).status).toBe(401);
    // The new password signs in with no code asked for.
    expect((await signIn(reset.password)).status).toBe(200);

    const unknown = await runCli(
      ["admin", "reset-password", "--email", "nobody@example.com"],
      installation(),
    );
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      1,
      'stablegate: no account with the email "nobody@example.com"',
    ]);
  });

  it("set the checkout's branding with a logo file from the operator's directory", async () => {
    // A relative path, read by the CLI in its own directory: the gateway (through the admin
    // socket on PGlite) is sent the image, not the path.
    const logo = logoPng();
    await writeFile(join(dir, "shop-logo.png"), logo);
    const args = [
      "org",
      "set-branding",
      String(orgId),
      "--name",
      "Live Tea",
      "--logo",
      "shop-logo.png",
      "--accent",
      "#0F766E",
    ];
    const r = await startCli(args, installation(), { cwd: dir }).exited;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      org_id: orgId,
      display_name: "Live Tea",
      logo: expect.stringMatching(/^stored \(\d+ characters as a data: URL\)$/),
      accent_color: "#0f766e",
    });
    const sha = createHash("sha256").update(logo).digest("hex");
    const served = await fetch(`http://127.0.0.1:${port}/v1/checkout/logos/${sha}`);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(logo)).toBe(true);

    // An SVG (it can carry script) and a missing file: one line naming the problem.
    await writeFile(join(dir, "logo.svg"), "<svg/>");
    for (const [file, message] of [
      ["logo.svg", "--logo must be a .png, .jpg, .gif or .webp file"],
      ["missing.png", "cannot read --logo missing.png"],
    ] as const) {
      const refused = await runCli(
        ["org", "set-branding", String(orgId), "--logo", file],
        installation(),
      );
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(message);
    }
  });

  it("change an allowed origin with no restart", async () => {
    expect(await preflight("https://two.example")).toBeNull();
    await admin(["client", "set-origins", clientId, "https://two.example"]);
    expect(await preflight("https://two.example")).toBe("https://two.example");
    expect(gateway.child.exitCode).toBeNull();
  });

  it("answer a refusal as the CLI does: one line naming the problem, exit code 1", async () => {
    for (const [args, message] of [
      [
        [
          "client",
          "create",
          "--org",
          String(orgId),
          "--name",
          "b",
          "--origin",
          "https://x.example/p",
        ],
        /^stablegate: origin: .*https:\/\/x\.example\/p/,
      ],
      [["org", "set-fee", "999999", "10"], /^stablegate: .*999999/],
      [
        ["org", "set-limits", String(orgId)],
        /^stablegate: give --max-transfer and\/or --daily-cap/,
      ],
      [
        ["org", "set-assets", String(orgId), "arb/USDT", "base-USDC"],
        /^error: .*'base-USDC' is invalid for argument 'assets'\. base-USDC: give chain\/SYMBOL/,
      ],
      [
        ["org", "invite", String(orgId), "--email", "a@example.com", "--url", "ftp://x"],
        /^error: option '--url <url>' argument 'ftp:\/\/x' is invalid\. must be an http\(s\) URL/,
      ],
    ] as const) {
      const r = await runCli([...args], installation());
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expectNoStackTrace(r);
    }
  });

  it("show the hot wallet: the gateway's seed through the socket, the CLI's own on PostgreSQL", async () => {
    const out = await stdoutOf(
      ["org", "wallet", String(orgId)],
      embedded ? {} : { SEED_FILE: seedFile },
    );
    expect(JSON.parse(out)).toMatchObject({
      org_id: orgId,
      hot_wallet_address: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/),
    });
  });

  it.runIf(embedded)("keep the socket to its owner (mode 0600)", async () => {
    expect((await stat(join(dir, "data", "admin.sock"))).mode & 0o777).toBe(0o600);
  });

  it("print the same thing as with the gateway stopped", async () => {
    const live = await stdoutOf(["client", "list", "--org", String(orgId)]);
    const keys = await stdoutOf(["key", "list", "--org", String(orgId)]);
    gateway.signal("SIGTERM");
    expect((await exitWithin(gateway, STOP_TIMEOUT_MS)).code).toBe(0);
    expect(await stdoutOf(["client", "list", "--org", String(orgId)])).toBe(live);
    expect(await stdoutOf(["key", "list", "--org", String(orgId)])).toBe(keys);
  });

  it("work again after the gateway was killed with -9 and started anew", async () => {
    const first = await serve(port);
    first.signal("SIGKILL");
    await exitWithin(first, STOP_TIMEOUT_MS);
    gateway = await serve(port);
    expect((await admin(["org", "list"])).map((o: { id: number }) => o.id)).toContain(orgId);
    gateway.signal("SIGTERM");
    expect((await exitWithin(gateway, STOP_TIMEOUT_MS)).code).toBe(0);
  });
});

describe.concurrent("bad configuration stops the start", { timeout: 180_000 }, () => {
  // Each case: the settings, then the lines stderr must hold, each naming a setting. Values in
  // the environment share one process: the parser reports every bad setting, one per line.
  const cases: [string, () => Promise<Record<string, string | undefined>>, RegExp[]][] = [
    [
      "PORT=abc, PAYMENT_TTL_SECONDS=-5, DATABASE_URL=mysql://x, LOG_LEVEL=loud",
      async () => ({
        PORT: "abc",
        PAYMENT_TTL_SECONDS: "-5",
        DATABASE_URL: "mysql://x",
        LOG_LEVEL: "loud",
      }),
      [
        /^\s*PORT: .*number/m,
        /^\s*PAYMENT_TTL_SECONDS: /m,
        /^\s*DATABASE_URL: .*postgres/m,
        /^\s*LOG_LEVEL: .*"info"/m,
      ],
    ],
    [
      "a config file with an unknown key",
      async () => {
        const file = join(dir, "typo.json");
        await writeFile(file, JSON.stringify({ PROT: 8080 }));
        return { CONFIG_FILE: file };
      },
      [/CONFIG_FILE: .*PROT/],
    ],
    ["no seed", async () => ({ SEED_FILE: undefined }), [/SEED_FILE/]],
    ["an unknown role", async () => ({ ROLE: "leader" }), [/^\s*ROLE: .*"worker"/m]],
    [
      "a lease renewed too rarely for its TTL",
      async () => ({ LEASE_TTL_MS: "2000", LEASE_RENEW_MS: "1500" }),
      [/^\s*LEASE_RENEW_MS: must be at most half of LEASE_TTL_MS/m],
    ],
    [
      "no rate source",
      async () => ({ RATES_PROVIDER: undefined, RATES_TWD_PER_USD: undefined }),
      [
        /^\s*RATES_PROVIDER: .*RATES_PROVIDER=http with RATES_HTTP_URL.*RATES_PROVIDER=static with RATES_TWD_PER_USD/m,
      ],
    ],
    [
      "static rates without every rate",
      async () => ({ RATES_PROVIDER: "static", RATES_TWD_PER_USD: undefined }),
      [/^\s*RATES_TWD_PER_USD: required when RATES_PROVIDER=static/m],
    ],
    [
      "a seed file readable by others",
      async () => {
        const file = join(dir, "open-seed.txt");
        await writeFile(file, `${TEST_MNEMONIC}\n`);
        await chmod(file, 0o644);
        return { SEED_FILE: file };
      },
      [/SEED_FILE .*open-seed\.txt.*chmod 600/],
    ],
    [
      "a seed file without a valid phrase",
      async () => {
        const file = join(dir, "bad-seed.txt");
        await writeFile(file, "test test test test test test test test test test test test\n", {
          mode: 0o600,
        });
        return { SEED_FILE: file };
      },
      [/not a valid .*BIP-39/],
    ],
  ];

  it.each(cases)("%s", async (_name, settings, lines) => {
    const r = await runCli(
      ["serve"],
      {
        DATA_DIR: join(dir, "unused"),
        SEED_FILE: seedFile,
        ...STATIC_RATES,
        ...(await settings()),
      },
      120_000,
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^stablegate: /);
    for (const line of lines) expect(r.stderr).toMatch(line);
    expectNoStackTrace(r);
    expect(r.stdout).toBe("");
  });

  // Runtime conditions that are really configuration mistakes: a message naming the setting.
  it("a DATABASE_URL that refuses connections", async () => {
    const port = await freePort();
    const r = await runCli(
      ["serve"],
      {
        DATA_DIR: join(dir, "unused"),
        SEED_FILE: seedFile,
        ...STATIC_RATES,
        DATABASE_URL: `postgres://127.0.0.1:${port}/x`,
      },
      120_000,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^stablegate: .*DATABASE_URL/);
    expectNoStackTrace(r);
  });

  it("a PORT that is already in use", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(
        ["serve"],
        {
          DATA_DIR: join(dir, "port-in-use"),
          SEED_FILE: seedFile,
          ...STATIC_RATES,
          PORT: String(port),
        },
        120_000,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^stablegate: .*PORT/);
      expectNoStackTrace(r);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
