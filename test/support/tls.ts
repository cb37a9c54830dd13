// Certificates for TLS tests, made with the openssl command line into a temp folder, and a raw
// TLS SIP peer (the SIPp build here has no TLS).
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { streamPeer, type Received } from "./raw-sip.ts";

/** A PEM certificate and its key on disk. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

function openssl(args: readonly string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}

/** A throw-away CA (P-256) in `dir`: ca.pem and ca.key. */
export function makeCa(dir: string, name = "ca"): CertFiles {
  const files = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", files.keyFile, "-out", files.certFile, "-days", "2", "-subj", `/CN=Trunkline test ${name}`]);
  return files;
}

/**
 * A leaf certificate signed by `ca` (or self-signed when ca is null) for `cn` with the given
 * subjectAltNames (`DNS:localhost`, `IP:127.0.0.1`); usable as server and as client certificate.
 */
export function makeLeaf(dir: string, name: string, cn: string, altNames: readonly string[], ca: CertFiles | null): CertFiles {
  const files = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature", "extendedKeyUsage=serverAuth,clientAuth", ...(altNames.length > 0 ? [`subjectAltName=${altNames.join(",")}`] : [])].join("\n") + "\n",
  );
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", files.keyFile];
  if (ca === null) {
    openssl(["req", "-x509", ...key, "-out", files.certFile, "-days", "2", "-subj", `/CN=${cn}`, "-extensions", "v3", "-config", configWith(dir, name, ext)]);
    return files;
  }
  const csr = join(dir, `${name}.csr`);
  openssl(["req", ...key, "-out", csr, "-subj", `/CN=${cn}`]);
  openssl(["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial", "-out", files.certFile, "-days", "2", "-extfile", ext]);
  return files;
}

// `req -x509` takes extensions from a config section, not from an extfile.
function configWith(dir: string, name: string, ext: string): string {
  const file = join(dir, `${name}.cnf`);
  const lines = readFileSync(ext, "utf8");
  writeFileSync(file, `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${lines}`);
  return file;
}

/** A raw SIP peer over TLS: exact bytes out, responses and requests (framed by Content-Length) in. */
export interface TlsPeer {
  readonly socket: TLSSocket;
  readonly port: number;
  readonly received: Received[];
  readonly closed: boolean;
  send(bytes: string | Buffer): Promise<void>;
  /** Waits until `count` messages have arrived in total, or ms passed. */
  waitFor(count: number, ms: number): Promise<void>;
  close(): void;
}

/** Connects over TLS; rejects when the handshake fails. */
export async function tlsPeer(target: { address: string; port: number }, options: ConnectionOptions & { localAddress?: string } = {}): Promise<TlsPeer> {
  const socket = connect({ host: target.address, port: target.port, ...options });
  await once(socket, "secureConnect");
  const peer = streamPeer(socket);
  return {
    socket,
    port: peer.port,
    received: peer.received,
    get closed() {
      return peer.closed;
    },
    send: (bytes) => peer.send(bytes),
    waitFor: (count, ms) => peer.waitFor(count, ms),
    close: () => socket.destroy(),
  };
}
