import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { emailInvitation } from "../admin/invitation-mail.ts";
import { ORG_ROLES, type OrgRole } from "../admin/roles.ts";
import type { createServices } from "../gateway.ts";
import type { ReconcileReport } from "../ledger/reconcile.ts";
import { formatReconcileReport } from "../ledger/reconcile-table.ts";

export type Services = ReturnType<typeof createServices>;

/** One admin command's work: what it returns is printed as JSON. */
export type AdminAction = (services: Services) => Promise<unknown>;

/**
 * Runs an action against the database: the CLI opens it itself, or (PGlite held by a running
 * gateway) sends the command over the admin socket, whose end runs the same action in the
 * gateway. `seed`: the action derives keys (the hot wallet), so the CLI needs the operator's seed.
 */
export type AdminRunner = (
  action: AdminAction,
  options?: {
    seed?: boolean;
    /** Prints the result (else as JSON) and gives the exit code. */
    render?: (value: unknown) => { text: string; exitCode: number };
    /**
     * The argv a running gateway's admin socket gets instead of the CLI's own: a command that
     * reads a local file sends its content, since the gateway's working directory is not ours.
     */
    forwardArgv?: string[];
  },
) => Promise<void>;

// Ids are PostgreSQL integers: digits only (no "1e3" or "0x10"), at most 2^31 - 1.
const positiveInt = (v: string) => {
  const n = Number(v);
  if (!/^[1-9]\d{0,9}$/.test(v) || n > 2_147_483_647)
    throw new InvalidArgumentError("must be a positive whole number up to 2147483647");
  return n;
};

function limitsInput(command: Command, o: { maxTransfer?: string; dailyCap?: string }) {
  if (o.maxTransfer === undefined && o.dailyCap === undefined) {
    command.error("stablegate: give --max-transfer and/or --daily-cap");
  }
  const value = (v: string) => (v === "none" ? null : v);
  return {
    ...(o.maxTransfer === undefined ? {} : { maxTransfer: value(o.maxTransfer) }),
    ...(o.dailyCap === undefined ? {} : { dailyCap: value(o.dailyCap) }),
  };
}

const LOGO_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
};

/**
 * `--logo`: 'none', a data: URL (what the CLI forwards to a running gateway), or a file read
 * into one. Its bytes are checked by the settings service like an upload from Studio.
 */
async function readLogo(command: Command, value: string): Promise<string | null> {
  if (value === "none") return null;
  if (value.startsWith("data:")) return value;
  const type = LOGO_TYPES[extname(value).toLowerCase()];
  if (type === undefined)
    command.error("stablegate: --logo must be a .png, .jpg, .gif or .webp file");
  let bytes: Buffer;
  try {
    bytes = await readFile(value);
  } catch (err) {
    command.error(`stablegate: cannot read --logo ${value}: ${(err as Error).message}`);
  }
  return `data:${type};base64,${bytes.toString("base64")}`;
}

/** The CLI's changes are audited as the operator's at the terminal. */
const cli = { actor: { kind: "cli" } } as const;

const limitsOutput = (l: { maxTransfer: string | null; dailyCap: string | null }) => ({
  max_transfer_amount: l.maxTransfer,
  daily_transfer_cap: l.dailyCap,
});

/**
 * The commands that read or write the database: org, client, key. Registered twice, with two
 * runners: by the CLI (main.ts), and by the admin socket's end in a running gateway
 * (admin-socket.ts), which parses the argv the CLI forwards.
 */
export function addAdminCommands(program: Command, run: AdminRunner): void {
  const org = program.command("org").description("manage organisations");
  org
    .command("create")
    .requiredOption("--name <name>", "organisation name")
    .option(
      "--chain <chain>",
      "default payment chain (eth, arb, base, bsc, polygon or its alias matic, optimism)",
      "arb",
    )
    .option(
      "--token <symbol>",
      "default payment token (USDT, USDC, USDC.e on arb and polygon, or an operator token)",
      "USDT",
    )
    .action((o: { name: string; chain: string; token: string }) =>
      run(({ tenancy }) =>
        tenancy.createOrganization({
          name: o.name,
          defaultChainId: o.chain,
          defaultTokenSymbol: o.token,
        }),
      ),
    );
  org
    .command("rotate-webhook-secret")
    .description(
      "make a new webhook signing secret (shown once); the old one keeps signing for 24 hours",
    )
    .argument("<org_id>", "organisation id", positiveInt)
    .action((orgId: number) =>
      run(async ({ tenancy, webhookSecrets }) => {
        await tenancy.getOrganization(orgId);
        const { secret, previousValidUntil } = await webhookSecrets.rotate(orgId, cli.actor);
        return {
          org_id: orgId,
          webhook_secret: secret,
          previous_secret_valid_until: previousValidUntil.toISOString(),
        };
      }),
    );
  org.command("list").action(() => run(({ tenancy }) => tenancy.listOrganizations()));
  org
    .command("invite")
    .description(
      "invite someone into an organisation: prints a one-time link (7 days) where they set their Studio password, and emails it too when SMTP_URL is set",
    )
    .argument("<org_id>", "organisation id", positiveInt)
    .requiredOption("--email <email>", "who is invited")
    .addOption(new Option("--role <role>", "their role").choices(ORG_ROLES).default("owner"))
    .requiredOption(
      "--url <url>",
      "the gateway's address as they reach it, e.g. https://pay.example.com (the link is <url>/studio/invite/<token>)",
      (value: string) => {
        const base = URL.canParse(value) ? new URL(value) : undefined;
        if (base?.protocol !== "http:" && base?.protocol !== "https:")
          throw new InvalidArgumentError("must be an http(s) URL, e.g. https://pay.example.com");
        return base;
      },
    )
    .action((orgId: number, o: { email: string; role: OrgRole; url: URL }) => {
      const { role, url: base } = o;
      return run(async ({ tenancy, operators, invitationMailer }) => {
        const organization = await tenancy.getOrganization(orgId);
        const invitation = await operators.invite({ orgId, email: o.email, role });
        const url = `${base.origin}/studio/invite/${invitation.token}`;
        const emailSent = await emailInvitation(invitationMailer, {
          to: invitation.email,
          orgName: organization.name,
          role,
          url,
          expiresAt: invitation.expiresAt,
          actor: cli.actor,
        });
        return {
          org_id: orgId,
          email: invitation.email,
          role,
          url,
          expires_at: invitation.expiresAt.toISOString(),
          email_sent: emailSent,
        };
      });
    });
  org
    .command("set-assets")
    .description(
      "the chains and tokens payers may pay in, e.g. arb/USDT base/USDC matic/USDC.e (the default pair is always accepted; only chains with RPC URLs); with more than one, the payer chooses on the checkout",
    )
    .argument("<org_id>", "organisation id", positiveInt)
    .argument(
      "<assets...>",
      "chain/SYMBOL pairs",
      (a: string, previous: Array<{ chain_id: string; symbol: string }> = []) => {
        const m = /^([^/:\s]+)[/:]([^/:\s]+)$/.exec(a);
        if (!m) throw new InvalidArgumentError(`${a}: give chain/SYMBOL, e.g. base/USDC`);
        return [...previous, { chain_id: m[1] as string, symbol: m[2] as string }];
      },
    )
    .action((orgId: number, parsed: Array<{ chain_id: string; symbol: string }>) => {
      return run(async ({ orgSettings }) => {
        const s = await orgSettings.update(orgId, { accepted_assets: parsed }, cli.actor);
        return { org_id: orgId, accepted_assets: s.accepted_assets };
      });
    });
  org
    .command("set-treasury")
    .description("where the organisation's successful payments are collected (an EVM address)")
    .argument("<org_id>", "organisation id", positiveInt)
    .argument("<address>", "treasury address, 0x…")
    .action((orgId: number, address: string) =>
      run(({ treasurySettings }) => treasurySettings.setTreasury(orgId, address)),
    );
  org
    .command("set-fee")
    .description("the operator's fee on the organisation's collections, in basis points (100 = 1%)")
    .argument("<org_id>", "organisation id", positiveInt)
    .argument("<bps>", "basis points, 0-10000", (v: string) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError("must be a whole number 0-10000");
      return Number(v);
    })
    .action((orgId: number, bps: number) =>
      run(({ treasurySettings }) => treasurySettings.setFee(orgId, bps)),
    );
  org
    .command("set-callback-events")
    .description(
      "opt-in callback events for the organisation (docs/callbacks.md): collection.confirmed when a payment is collected into the treasury",
    )
    .argument("<org_id>", "organisation id", positiveInt)
    .requiredOption("--collections <on|off>", "send collection events", (v: string) => {
      if (v !== "on" && v !== "off") throw new InvalidArgumentError("must be on or off");
      return v === "on";
    })
    .action((orgId: number, options: { collections: boolean }) =>
      run(({ callbackPreferences }) =>
        callbackPreferences.set(orgId, { collection_events: options.collections }),
      ),
    );
  org
    .command("wallet")
    .description(
      "the organisation's hot wallet (transfers are sent from it; fund it with tokens and gas) and its balances on chains with RPC URLs",
    )
    .argument("<org_id>", "organisation id", positiveInt)
    .action((orgId: number) =>
      run(
        async ({ tenancy, payouts }) => {
          await tenancy.getOrganization(orgId);
          const wallet = await payouts.walletOf(orgId);
          return { org_id: orgId, hot_wallet_address: wallet.address, chains: wallet.chains };
        },
        { seed: true },
      ),
    );
  org
    .command("set-limits")
    .description(
      "risk limits for transfers, in token units (USDT/USDC); 'none' removes a limit. The daily cap resets at 00:00 UTC",
    )
    .argument("<org_id>", "organisation id", positiveInt)
    .option("--max-transfer <amount>", "largest single transfer, e.g. 1000")
    .option("--daily-cap <amount>", "total of the day's transfers, e.g. 10000")
    .action((orgId: number, o: { maxTransfer?: string; dailyCap?: string }, command: Command) => {
      const input = limitsInput(command, o);
      return run(async ({ transferLimits }) => ({
        org_id: orgId,
        ...limitsOutput(await transferLimits.setOrgLimits(orgId, input)),
      }));
    });

  org
    .command("set-branding")
    .description(
      "how the hosted checkout shows the organisation to payers: display name, logo (a PNG, JPEG, GIF or WebP file of at most 47 KB, stored and served by the gateway) and accent colour; 'none' goes back to the default",
    )
    .argument("<org_id>", "organisation id", positiveInt)
    .option("--name <name>", "display name shown to payers (default: the organisation's name)")
    .option("--logo <file>", "logo image file, e.g. logo.png")
    .option("--accent <colour>", "accent colour as #rrggbb, e.g. '#0f766e'")
    .action(
      async (
        orgId: number,
        o: { name?: string; logo?: string; accent?: string },
        command: Command,
      ) => {
        if (o.name === undefined && o.logo === undefined && o.accent === undefined) {
          command.error("stablegate: give --name, --logo and/or --accent");
        }
        const none = (v: string) => (v === "none" ? null : v);
        // Read here, in the CLI's directory; a running gateway is sent the image itself.
        const logo = o.logo === undefined ? undefined : await readLogo(command, o.logo);
        const branding = {
          ...(o.name === undefined ? {} : { display_name: none(o.name) }),
          ...(logo === undefined ? {} : { logo_url: logo }),
          ...(o.accent === undefined ? {} : { accent_color: none(o.accent) }),
        };
        const forwardArgv = ["org", "set-branding", String(orgId)];
        if (o.name !== undefined) forwardArgv.push("--name", o.name);
        if (logo !== undefined) forwardArgv.push("--logo", logo ?? "none");
        if (o.accent !== undefined) forwardArgv.push("--accent", o.accent);
        return run(
          async ({ orgSettings }) => {
            const settings = await orgSettings.update(orgId, { branding }, cli.actor);
            return {
              org_id: orgId,
              display_name: settings.branding.display_name,
              logo: settings.branding.logo_url?.startsWith("data:")
                ? `stored (${settings.branding.logo_url.length} characters as a data: URL)`
                : settings.branding.logo_url,
              accent_color: settings.branding.accent_color,
            };
          },
          { forwardArgv },
        );
      },
    );

  const admin = program.command("admin").description("Studio's accounts");
  admin
    .command("create-operator")
    .description(
      "make an operator account (sees and manages every organisation in Studio); without --password one is generated and printed",
    )
    .requiredOption("--email <email>", "the operator's email, to sign in with")
    .option("--password <password>", "at least 12 characters (else one is generated)")
    .action((o: { email: string; password?: string }) =>
      run(({ operators }) => operators.createOperator(o)),
    );
  admin
    .command("reset-password")
    .description(
      "give a Studio account a new password (without --password one is generated and printed) and sign it out everywhere: for someone who lost theirs; --clear-2fa also turns off two-factor authentication, for a lost authenticator",
    )
    .requiredOption("--email <email>", "the account's email")
    .option("--password <password>", "at least 12 characters (else one is generated)")
    .option("--clear-2fa", "turn off two-factor authentication too")
    .action((o: { email: string; password?: string; clear2fa?: boolean }) =>
      run(({ operators }) =>
        operators.resetPassword({
          email: o.email,
          password: o.password,
          clearSecondFactor: o.clear2fa,
        }),
      ),
    );

  program
    .command("reconcile")
    .description(
      "the ledger against the chain: every address the gateway controls, every token, at the last confirmed block; per intent, received = refunded + collected + fee + held. Exits 1 on a difference",
    )
    .option("--json", "print the whole report as JSON")
    .option(
      "--attempts <n>",
      "look again this many times, 3 s apart, while a difference remains",
      positiveInt,
      3,
    )
    .action((o: { json?: boolean; attempts: number }) =>
      run(({ reconciler }) => reconciler.reconcile({ attempts: o.attempts }), {
        seed: true,
        render: (value) => {
          const report = value as ReconcileReport;
          return {
            text: o.json ? JSON.stringify(report, null, 2) : formatReconcileReport(report),
            exitCode: report.ok ? 0 : 1,
          };
        },
      }),
    );

  const client = program
    .command("client")
    .description("manage clients (client_id, allowed origins and callback hosts)");
  client
    .command("create")
    .requiredOption("--org <id>", "organisation id", positiveInt)
    .requiredOption("--name <name>", "client name")
    .option("--origin <origin...>", "allowed browser origin(s), e.g. https://shop.example", [])
    .option(
      "--callback-host <host...>",
      "host(s) a browser create may send callback_url to, e.g. shop.example; * for any (default: none)",
      [],
    )
    .action((o: { org: number; name: string; origin: string[]; callbackHost: string[] }) =>
      run(({ tenancy }) =>
        tenancy.createClient(
          {
            orgId: o.org,
            name: o.name,
            allowedOrigins: o.origin,
            allowedCallbackHosts: o.callbackHost,
          },
          cli,
        ),
      ),
    );
  client
    .command("list")
    .requiredOption("--org <id>", "organisation id", positiveInt)
    .action((o: { org: number }) => run(({ tenancy }) => tenancy.listClients(o.org)));
  client
    .command("set-origins")
    .argument("<client_id>")
    .argument("<origins...>")
    .action((clientId: string, origins: string[]) =>
      run(({ tenancy }) => tenancy.setAllowedOrigins(clientId, origins, cli)),
    );
  client
    .command("set-callback-hosts")
    .description(
      "replace the hosts a browser create (no API key) may send callback_url to; none: no callbacks from the browser, *: any host",
    )
    .argument("<client_id>")
    .argument("[hosts...]")
    .action((clientId: string, hosts: string[]) =>
      run(({ tenancy }) => tenancy.setAllowedCallbackHosts(clientId, hosts, cli)),
    );

  const key = program.command("key").description("manage API keys");
  key
    .command("create")
    .requiredOption("--org <id>", "organisation id", positiveInt)
    .option("--name <name>", "a label for the key", "default")
    .action((o: { org: number; name: string }) =>
      run(async ({ tenancy }) => {
        const created = await tenancy.createApiKey({ orgId: o.org, name: o.name }, cli);
        return { id: created.id, api_key: created.secret, note: "shown once: store it now" };
      }),
    );
  key
    .command("list")
    .requiredOption("--org <id>", "organisation id", positiveInt)
    .action((o: { org: number }) => run(({ tenancy }) => tenancy.listApiKeys(o.org)));
  key
    .command("set-limits")
    .description("this key's own transfer limits (besides its organisation's); 'none' removes one")
    .argument("<id>", "API key id", positiveInt)
    .option("--max-transfer <amount>", "largest single transfer, e.g. 100")
    .option("--daily-cap <amount>", "total of the day's transfers by this key, e.g. 1000")
    .action((id: number, o: { maxTransfer?: string; dailyCap?: string }, command: Command) => {
      const input = limitsInput(command, o);
      return run(async ({ tenancy }) => {
        const key = await tenancy.updateApiKey(id, { limits: input }, cli);
        return {
          key_id: id,
          ...limitsOutput({
            maxTransfer: key.max_transfer_amount,
            dailyCap: key.daily_transfer_cap,
          }),
        };
      });
    });
  key
    .command("revoke")
    .argument("<id>", "API key id", positiveInt)
    .action((id: number) =>
      run(async ({ tenancy }) => {
        await tenancy.revokeApiKey(id, cli);
        return { revoked: id };
      }),
    );
}
