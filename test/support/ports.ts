import { createSocket } from "node:dgram";
import { createServer } from "node:net";

/** A port free for both UDP and TCP on address (the kernel's choice, checked on both). */
export async function freePort(address = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolvePort, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(0, address, () => {
        const a = srv.address();
        srv.close(() => (typeof a === "object" && a !== null ? resolvePort(a.port) : reject(new Error("no port"))));
      });
    });
    const udpFree = await new Promise<boolean>((resolveFree) => {
      const sock = createSocket(address.includes(":") ? "udp6" : "udp4");
      sock.once("error", () => resolveFree(false));
      sock.bind(port, address, () => sock.close(() => resolveFree(true)));
    });
    if (udpFree) return port;
  }
  throw new Error("no free port found");
}
