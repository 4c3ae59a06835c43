import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { validationError } from "../platform/errors.ts";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolve: Resolve = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

// Only public unicast addresses may be called back. ipaddr.js names every special range:
// loopback, private, shared (100.64/10, where Alibaba's metadata service is), link-local (where
// the cloud metadata services are), unique-local (AWS's fd00:ec2::254), documentation,
// benchmarking, multicast, and the IPv6 forms that carry an IPv4 address (mapped and compatible
// ones are read as the IPv4 address itself; NAT64, 6to4 and Teredo are refused whole), so no
// spelling of 127.0.0.1 gets through.
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");

function isPublicUnicast(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  // ipaddr.js calls the deprecated IPv4-compatible block (::a.b.c.d, which the URL parser writes
  // as ::7f00:1) unicast; nothing public lives there.
  if (parsed.kind() === "ipv6" && parsed.match(IPV4_COMPATIBLE)) return false;
  return parsed.range() === "unicast";
}

/** Parses "10.0.0.0/8" or "fd00::/8" (a bare address is a /32 or /128); throws on anything else. */
export function parseNetwork(cidr: string): [string, number, "ipv4" | "ipv6"] {
  const [address = "", bits] = cidr.trim().split("/");
  const family = isIP(address);
  if (family === 0) throw new Error(`${cidr} is not an IP network`);
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d+$/.test(bits ?? `${max}`) || prefix > max) throw new Error(`${cidr}: bad prefix`);
  return [address, prefix, family === 4 ? "ipv4" : "ipv6"];
}

// node's BlockList checks an IPv4-mapped IPv6 address (::ffff:10.0.0.1) against the IPv4
// ranges too.
function blockListOf(ranges: Array<[string, number, "ipv4" | "ipv6"]>): BlockList {
  const list = new BlockList();
  for (const [address, prefix, type] of ranges) list.addSubnet(address, prefix, type);
  return list;
}

export class CallbackUrlRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CallbackUrlRefused";
  }
}

export interface CallbackUrlGuardOptions {
  /** Networks allowed even though they are private (CALLBACK_ALLOWED_NETWORKS). */
  allowedNetworks?: readonly string[];
  /** The sandbox delivers to the developer's own machine. */
  allowPrivate?: boolean;
  /** DNS; tests give one whose answers change between creation and delivery. */
  resolve?: Resolve;
}

/**
 * Keeps callbacks away from the gateway's own network (SSRF). A URL is checked when the intent
 * is created and again at every delivery, because DNS answers can change in between; delivery
 * then connects to the very address that was checked.
 */
export function createCallbackUrlGuard(options: CallbackUrlGuardOptions = {}) {
  const allowed = blockListOf((options.allowedNetworks ?? []).map(parseNetwork));
  const resolve = options.resolve ?? systemResolve;

  function isRefused(a: ResolvedAddress): boolean {
    if (options.allowPrivate) return false;
    const type = a.family === 4 ? "ipv4" : "ipv6";
    return !isPublicUnicast(a.address) && !allowed.check(a.address, type);
  }

  /** The URL's host, resolved; every address must be allowed. Throws CallbackUrlRefused. */
  async function resolveChecked(url: URL): Promise<ResolvedAddress[]> {
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new CallbackUrlRefused(`${url.protocol} is not http(s)`);
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const literal = isIP(host);
    const addresses =
      literal === 0 ? await resolve(host) : [{ address: host, family: literal as 4 | 6 }];
    if (addresses.length === 0) throw new CallbackUrlRefused(`${host} has no address`);
    const refused = addresses.find(isRefused);
    if (refused) {
      throw new CallbackUrlRefused(
        `${host} resolves to ${refused.address}, a private, loopback, link-local, metadata or reserved address`,
      );
    }
    return addresses;
  }

  return {
    resolveChecked,

    /**
     * At creation: a host that resolves to a refused address is a 4000. A host that does not
     * resolve right now is accepted; each delivery resolves again and records the DNS error.
     */
    async checkAtCreation(callbackUrl: string): Promise<void> {
      try {
        await resolveChecked(new URL(callbackUrl));
      } catch (err) {
        if (err instanceof CallbackUrlRefused) throw validationError("callback_url", err.message);
      }
    },
  };
}

export type CallbackUrlGuard = ReturnType<typeof createCallbackUrlGuard>;
