import type { Attribute, Bandwidth, Connection, MediaDescription, Origin, SessionDescription } from "./types.ts";

/** Formats an origin as the value of an `o=` line. */
export function formatOrigin(o: Origin): string {
  return `${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`;
}

/** Formats a connection as the value of a `c=` line. */
export function formatConnection(c: Connection): string {
  let address = c.address;
  if (c.ttl !== undefined) address += `/${c.ttl}`;
  if (c.count !== undefined) address += `/${c.count}`;
  return `${c.netType} ${c.addrType} ${address}`;
}

function formatBandwidth(b: Bandwidth): string {
  return `${b.type}:${b.value}`;
}

function formatAttribute(a: Attribute): string {
  if (a.kind === "line") return `${a.type}=${a.value}`;
  return a.value === null ? `a=${a.name}` : `a=${a.name}:${a.value}`;
}

/** Formats the value of an `m=` line. */
export function formatMediaLine(m: MediaDescription): string {
  const port = m.portCount === undefined ? `${m.port}` : `${m.port}/${m.portCount}`;
  return [m.type, port, m.protocol, ...m.formats].join(" ");
}

/** Serializes a description in RFC 8866 grammar order, every line ended by CRLF. */
export function serializeSdp(sdp: SessionDescription): string {
  const out: string[] = [`v=${sdp.version}`, `o=${formatOrigin(sdp.origin)}`, `s=${sdp.sessionName}`];
  if (sdp.information !== undefined) out.push(`i=${sdp.information}`);
  if (sdp.uri !== undefined) out.push(`u=${sdp.uri}`);
  for (const e of sdp.emails) out.push(`e=${e}`);
  for (const p of sdp.phones) out.push(`p=${p}`);
  if (sdp.connection !== undefined) out.push(`c=${formatConnection(sdp.connection)}`);
  for (const b of sdp.bandwidths) out.push(`b=${formatBandwidth(b)}`);
  for (const t of sdp.timings) {
    out.push(`t=${t.start} ${t.stop}`);
    for (const r of t.repeats) out.push(`r=${r}`);
  }
  if (sdp.zone !== undefined) out.push(`z=${sdp.zone}`);
  if (sdp.key !== undefined) out.push(`k=${sdp.key}`);
  for (const a of sdp.attributes) out.push(formatAttribute(a));
  for (const m of sdp.media) {
    out.push(`m=${formatMediaLine(m)}`);
    if (m.information !== undefined) out.push(`i=${m.information}`);
    for (const c of m.connections) out.push(`c=${formatConnection(c)}`);
    for (const b of m.bandwidths) out.push(`b=${formatBandwidth(b)}`);
    if (m.key !== undefined) out.push(`k=${m.key}`);
    for (const a of m.attributes) out.push(formatAttribute(a));
  }
  return out.join("\r\n") + "\r\n";
}
