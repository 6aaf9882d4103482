import dns from "node:dns";
import { lookup as lookupAll } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { networkInterfaces } from "node:os";
import { RuntimeError } from "./runtime.js";

type Family = "ipv4" | "ipv6";

function subnets(family: Family, cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split("/") as [string, string];
    list.addSubnet(network, Number(prefix), family);
  }
  return list;
}

/**
 * Ranges an agent must not reach unless the operator allows them, named for the refusal message: every entry of the
 * IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and its successors), plus multicast and the
 * deprecated site-local range. IPv4-mapped, IPv4-compatible and NAT64 (64:ff9b::/96) addresses are judged by the IPv4
 * address they embed (a NAT64 network reaches the public IPv4 internet that way); 6to4 and Teredo, which also embed
 * IPv4 addresses but are obsolete, are refused whole.
 */
const BLOCKED: Record<Family, [range: string, list: BlockList][]> = {
  ipv4: [
    ["unspecified", subnets("ipv4", ["0.0.0.0/8"])],
    ["loopback", subnets("ipv4", ["127.0.0.0/8"])],
    ["private", subnets("ipv4", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])],
    ["link-local", subnets("ipv4", ["169.254.0.0/16"])],
    ["carrier-grade NAT", subnets("ipv4", ["100.64.0.0/10"])],
    ["multicast", subnets("ipv4", ["224.0.0.0/4"])],
    ["documentation", subnets("ipv4", ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"])],
    ["benchmarking", subnets("ipv4", ["198.18.0.0/15"])],
    ["special-purpose", subnets("ipv4", ["192.0.0.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.175.48.0/24"])],
    ["reserved", subnets("ipv4", ["240.0.0.0/4"])],
  ],
  ipv6: [
    ["unspecified", subnets("ipv6", ["::/128"])],
    ["loopback", subnets("ipv6", ["::1/128"])],
    ["private", subnets("ipv6", ["fc00::/7", "fec0::/10"])],
    ["link-local", subnets("ipv6", ["fe80::/10"])],
    ["multicast", subnets("ipv6", ["ff00::/8"])],
    ["documentation", subnets("ipv6", ["2001:db8::/32", "3fff::/20"])],
    ["6to4", subnets("ipv6", ["2002::/16"])],
    ["Teredo", subnets("ipv6", ["2001::/32"])],
    ["special-purpose", subnets("ipv6", ["2001::/23", "64:ff9b:1::/48", "2620:4f:8000::/48", "5f00::/16", "100:0:0:1::/64"])],
    ["reserved", subnets("ipv6", ["100::/64"])],
  ],
};

const HOST_ADDRESSES_TTL_MS = 2000;
let hostAddresses: { list: BlockList; until: number } | undefined;

/** Every address of this machine's interfaces (re-read every couple of seconds, so an address added later counts). */
function ownAddresses(): BlockList {
  if (hostAddresses && hostAddresses.until > Date.now()) return hostAddresses.list;
  const list = new BlockList();
  for (const entry of Object.values(networkInterfaces()).flat()) {
    if (!entry) continue;
    const ip = withoutZone(entry.address);
    const family = isIP(ip);
    if (family) list.addAddress(ip, family === 4 ? "ipv4" : "ipv6");
  }
  hostAddresses = { list, until: Date.now() + HOST_ADDRESSES_TTL_MS };
  return list;
}

/** The eight 16-bit groups of a valid IPv6 address (without zone). */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const [head = "", tail] = text.split("::");
  if (tail === undefined) return parse(head);
  const [left, right] = [parse(head), parse(tail)];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d), IPv4-translated
 * (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) forms all reach it.
 */
function embeddedIPv4(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  const prefix = g.slice(0, 6).join(":");
  if (!["0:0:0:0:0:65535", "0:0:0:0:65535:0", "0:0:0:0:0:0", "100:65435:0:0:0:0"].includes(prefix)) return undefined;
  const [hi = 0, lo = 0] = g.slice(6);
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
}

function withoutZone(ip: string): string {
  return ip.replace(/%.*$/, "");
}

/** A set of addresses to test against, e.g. the host's own (see {@link ownAddresses}). */
export type AddressSet = Pick<BlockList, "check">;

/** Which blocked range an address falls in; anything that is not an IP address counts as blocked. */
function blockedRange(address: string, host: AddressSet): string | undefined {
  const ip = withoutZone(address);
  const family = isIP(ip);
  if (family === 4) return BLOCKED.ipv4.find(([, list]) => list.check(ip, "ipv4"))?.[0] ?? (host.check(ip, "ipv4") ? "this host's" : undefined);
  if (family !== 6) return "invalid";
  const range = BLOCKED.ipv6.find(([, list]) => list.check(ip, "ipv6"))?.[0];
  if (range) return range;
  const ipv4 = embeddedIPv4(ip);
  if (ipv4 !== undefined) return blockedRange(ipv4, host);
  return host.check(ip, "ipv6") ? "this host's" : undefined;
}

/**
 * True for every special-purpose address (loopback, private, link-local, documentation, benchmarking, CGNAT,
 * multicast, reserved, ...) in any IPv6 form, and for the addresses of this machine's own interfaces.
 */
export function isBlockedAddress(ip: string, host: AddressSet = ownAddresses()): boolean {
  return blockedRange(ip, host) !== undefined;
}

type AllowEntry = { port?: number } & ({ host: string } | { network: BlockList });

function normaliseHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
}

function parsePort(text: string, entry: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) throw new Error(`allow-list entry '${entry}' has an invalid port`);
  return port;
}

function parseEntry(entry: string): AllowEntry {
  const text = entry.trim();
  const cidr = /^\[?([0-9a-fA-F:.]+)\]?\/(\d+)$/.exec(text);
  if (cidr) {
    const [, network = "", prefix = ""] = cidr;
    const family = isIP(network);
    const bits = Number(prefix);
    if (family === 0 || bits > (family === 4 ? 32 : 128)) throw new Error(`allow-list entry '${entry}' is not a valid CIDR`);
    const list = new BlockList();
    list.addSubnet(network, bits, family === 4 ? "ipv4" : "ipv6");
    return { network: list };
  }
  let host = text;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? "";
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2], entry);
  } else if (isIP(text) !== 6 && text.includes(":")) {
    const colon = text.lastIndexOf(":");
    host = text.slice(0, colon);
    port = parsePort(text.slice(colon + 1), entry);
  }
  const family = isIP(host);
  if (family !== 0) {
    const list = new BlockList();
    list.addAddress(host, family === 4 ? "ipv4" : "ipv6");
    return { network: list, port };
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(host)) {
    throw new Error(`allow-list entry '${entry}' is not a hostname, host:port or CIDR`);
  }
  return { host: normaliseHost(host), port };
}

/** Targets exempt from the blocked ranges: hostnames ("localhost"), host:port ("127.0.0.1:8080") or CIDRs ("10.0.0.0/8"). */
export class AllowList {
  private constructor(private readonly entries: readonly AllowEntry[]) {}

  /** Throws on a malformed entry, so a bad setting stops the executor at start. */
  static parse(entries: readonly string[]): AllowList {
    return new AllowList(entries.map(parseEntry));
  }

  static from(allowList: AllowList | readonly string[]): AllowList {
    return allowList instanceof AllowList ? allowList : AllowList.parse(allowList);
  }

  permits(host: string, port: number, address: string): boolean {
    const name = normaliseHost(host);
    const ip = withoutZone(address);
    const candidates: [string, Family][] = [[ip, isIP(ip) === 4 ? "ipv4" : "ipv6"]];
    const ipv4 = isIP(ip) === 6 ? embeddedIPv4(ip) : undefined;
    if (ipv4) candidates.push([ipv4, "ipv4"]);
    return this.entries.some((entry) => {
      if (entry.port !== undefined && entry.port !== port) return false;
      if ("host" in entry) return entry.host === name;
      return candidates.some(([candidate, family]) => entry.network.check(candidate, family));
    });
  }
}

export function targetPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/** The host as node:net wants it: IPv6 literals without their brackets. */
export function targetHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** The task error code of a call refused by this guard. */
export const SSRF_BLOCKED = "SSRF_BLOCKED";

function refusal(host: string, address: string, range: string): RuntimeError {
  return new RuntimeError(
    `refusing to call ${host}: ${address} is a ${range} address; list it in the executor's HTTP allow-list to permit it`,
    false,
    { host, address, range },
    SSRF_BLOCKED,
  );
}

function checkAddresses(allowList: AllowList, host: string, port: number, addresses: readonly string[]): RuntimeError | undefined {
  if (addresses.length === 0) return new RuntimeError(`refusing to call ${host}: it resolves to no address`, false, { host });
  const own = ownAddresses();
  for (const address of addresses) {
    const range = blockedRange(address, own);
    if (range !== undefined && !allowList.permits(host, port, address)) return refusal(host, address, range);
  }
  return undefined;
}

/**
 * The checks that need no DNS: the scheme, and a literal IP host (node:net connects to those without a lookup,
 * so the guarded lookup never sees them).
 */
export function assertAllowedUrl(url: URL, allowList: AllowList | readonly string[]): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RuntimeError(`refusing to call ${url.protocol}// URLs: only http and https are allowed`, false, { protocol: url.protocol }, SSRF_BLOCKED);
  }
  const host = targetHost(url);
  if (isIP(host) === 0) return;
  const refused = checkAddresses(AllowList.from(allowList), host, targetPort(url), [host]);
  if (refused) throw refused;
}

/**
 * Refuses a URL whose scheme is not http(s) or whose host resolves to any blocked address the allow-list does not
 * permit. A check ahead of time only: the address finally connected to is checked by {@link guardedLookup}.
 */
export async function assertAllowedTarget(url: URL, allowList: AllowList | readonly string[]): Promise<void> {
  const list = AllowList.from(allowList);
  assertAllowedUrl(url, list);
  const host = targetHost(url);
  if (isIP(host) !== 0) return;
  let addresses: string[];
  try {
    addresses = (await lookupAll(host, { all: true })).map((entry) => entry.address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RuntimeError(`could not resolve ${host}: ${code ?? (err as Error).message}`, true, { host, code });
  }
  const refused = checkAddresses(list, host, targetPort(url), addresses);
  if (refused) throw refused;
}

/**
 * A `lookup` for node:http(s) `request` that resolves the host at connection time and fails the connection when any
 * address is blocked, so a DNS answer that changes after an earlier check (rebinding) cannot reach a blocked address.
 */
export function guardedLookup(url: URL, allowList: AllowList | readonly string[]): LookupFunction {
  const list = AllowList.from(allowList);
  const port = targetPort(url);
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : "");
      const refused = checkAddresses(list, hostname, port, addresses.map((entry) => entry.address));
      if (refused) return callback(refused, options.all ? [] : "");
      if (options.all) return callback(null, addresses);
      const [first] = addresses as [dns.LookupAddress];
      callback(null, first.address, first.family);
    });
  };
}
