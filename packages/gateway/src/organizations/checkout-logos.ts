import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, LogoContentType } from "../platform/database/schema.ts";
import { validationError } from "../platform/errors.ts";

// Checkout logos, stored by the gateway and served from /v1/checkout/logos/<sha256>: the page's
// CSP (img-src 'self' data:) lets no other host's image in, and a payer's browser never tells a
// third party which payment it is looking at. Content-addressed, so the URL is cached for a year.

/** The path a stored logo is served at; the checkout view carries it as merchant.logo_url. */
export const logoPath = (sha256: string) => `/v1/checkout/logos/${sha256}`;

export const LOGO_SHA256_PATTERN = /^[0-9a-f]{64}$/;

// The first bytes of each accepted format; the declared type must agree with them.
const SIGNATURES: [LogoContentType, (b: Buffer) => boolean][] = [
  ["image/png", (b) => b.subarray(0, 8).equals(Buffer.from("89504e470d0a1a0a", "hex"))],
  ["image/jpeg", (b) => b.subarray(0, 3).equals(Buffer.from("ffd8ff", "hex"))],
  ["image/gif", (b) => /^GIF8[79]a$/.test(b.subarray(0, 6).toString("latin1"))],
  [
    "image/webp",
    (b) =>
      b.subarray(0, 4).toString("latin1") === "RIFF" &&
      b.subarray(8, 12).toString("latin1") === "WEBP",
  ],
];

/** The image's type from its bytes, or undefined: what the URL declares is not trusted. */
export function sniffImageType(bytes: Buffer): LogoContentType | undefined {
  return SIGNATURES.find(([, matches]) => matches(bytes))?.[0];
}

export interface StoredLogo {
  sha256: string;
  contentType: LogoContentType;
  bytes: Buffer;
}

/**
 * A data: logo (already checked by checkLogoUrl for its form and size) decoded and checked: its
 * bytes must be the image it claims to be. Throws a 4000 on branding.logo_url otherwise.
 */
export function decodeLogo(dataUrl: string): StoredLogo {
  const match = /^data:(image\/[a-z]+);base64,(.*)$/.exec(dataUrl);
  if (!match) {
    throw validationError("branding.logo_url", "must be a base64 data: image");
  }
  const bytes = Buffer.from(match[2] as string, "base64");
  const contentType = sniffImageType(bytes);
  if (contentType === undefined) {
    throw validationError(
      "branding.logo_url",
      "the data is not a PNG, JPEG, GIF or WebP image (its first bytes are no image signature)",
    );
  }
  if (contentType !== match[1]) {
    throw validationError(
      "branding.logo_url",
      `the data is ${contentType}, not the ${match[1]} the URL declares`,
    );
  }
  return { sha256: createHash("sha256").update(bytes).digest("hex"), contentType, bytes };
}

/** Stores the logo (once per content) in the caller's transaction; returns its sha256. */
export async function storeLogo(trx: Kysely<Database>, logo: StoredLogo): Promise<string> {
  await trx
    .insertInto("checkout_logos")
    .values({ sha256: logo.sha256, content_type: logo.contentType, bytes: logo.bytes })
    .onConflict((oc) => oc.column("sha256").doNothing())
    .execute();
  return logo.sha256;
}

/** The checkout's read of stored logos (the route /v1/checkout/logos/{sha256}). */
export function createCheckoutLogos({ db }: { db: Kysely<Database> }) {
  return {
    /** A stored logo by its sha256, or undefined. */
    async get(sha256: string): Promise<StoredLogo | undefined> {
      if (!LOGO_SHA256_PATTERN.test(sha256)) return undefined;
      const row = await db
        .selectFrom("checkout_logos")
        .select(["sha256", "content_type", "bytes"])
        .where("sha256", "=", sha256)
        .executeTakeFirst();
      if (!row) return undefined;
      return { sha256: row.sha256, contentType: row.content_type, bytes: Buffer.from(row.bytes) };
    },
  };
}

export type CheckoutLogos = ReturnType<typeof createCheckoutLogos>;
