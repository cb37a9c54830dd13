import { constants } from "node:os";
import { getSystemErrorName } from "node:util";
import { loadNativeAddon } from "../../lib/index.ts";
import { MediaRelayError } from "./errors.ts";
import type { DatagramHandler, FastCounters, FastForward, FastPath, RelayIo, RelaySocket, SocketAddress } from "./udp-io.ts";

/** The functions native/media-io/src/media_io.c exports (one instance per thread). */
interface MediaIoAddon {
  init(deliver: (handle: number, packet: Buffer, address: string, port: number) => void): void;
  bind(address: string, port: number, bufferBytes: number): number;
  localAddress(handle: number): [string, number];
  send(handle: number, packet: Buffer, port: number, address: string): number;
  setForward(
    handle: number,
    out: number,
    targetAddress: string | null,
    targetPort: number,
    held: boolean,
    latchedAddress: string | null,
    latchedPort: number,
    signaledAddress: string | null,
    signaledPort: number,
    ptFlags: Uint8Array | null,
    demux: boolean,
  ): void;
  setClockRate(handle: number, rate: number): void;
  feed(handle: number, packet: Buffer): void;
  stats(handle: number, into: Float64Array): boolean;
  close(handle: number): void;
  fastPackets(): number;
  setRealtime(priority: number): number;
  readonly statsFields: number;
}

// Field order of media_io.c's stats().
const F = {
  rxPackets: 0,
  rxBytes: 1,
  fwdPackets: 2,
  fwdBytes: 3,
  dropHeld: 4,
  dropNoRoute: 5,
  dropSendError: 6,
  ageMs: 7,
  rsPackets: 8,
  rsBytes: 9,
  rsExpected: 10,
  rsDistinct: 11,
  rsOutOfOrder: 12,
  rsDuplicates: 13,
  rsHighest: 14,
  rsJitter: 15,
  rsClockRate: 16,
  fwdSsrc: 17,
  fwdSeq: 18,
  fwdTs: 19,
  fwdAgeMs: 20,
  count: 21,
} as const;

let loaded: { addon: MediaIoAddon; io: RelayIo } | undefined;
let loadError: string | undefined;

class NativeSocket implements RelaySocket, FastPath {
  private onMessage: DatagramHandler | undefined;
  private closed = false;
  private final: FastCounters | undefined;
  readonly fast: FastPath = this;

  constructor(
    private readonly addon: MediaIoAddon,
    private readonly sockets: Map<number, NativeSocket>,
    readonly handle: number,
    private readonly scratch: Float64Array,
  ) {}

  deliver(packet: Buffer, source: SocketAddress): void {
    this.onMessage?.(packet, source);
  }

  address(): SocketAddress {
    const [address, port] = this.addon.localAddress(this.handle);
    return { address, port };
  }

  send(packet: Buffer, port: number, address: string, onSent: (error: Error | null) => void): void {
    const errno = this.addon.send(this.handle, packet, port, address);
    onSent(errno === 0 ? null : new Error(`send to ${address}:${port} failed (errno ${errno})`));
  }

  setHandler(onMessage: DatagramHandler | undefined): void {
    this.onMessage = onMessage;
  }

  close(): Promise<void> {
    if (!this.closed) {
      // Kept, so the call's quality can still be read after its ports are gone (the CDR is written then).
      this.final = this.counters();
      this.closed = true;
      this.onMessage = undefined;
      this.sockets.delete(this.handle);
      this.addon.close(this.handle);
    }
    return Promise.resolve();
  }

  configure(config: FastForward | undefined): void {
    if (this.closed) return;
    if (config === undefined) {
      this.addon.setForward(this.handle, -1, null, 0, false, null, 0, null, 0, null, true);
      return;
    }
    const out = config.out instanceof NativeSocket ? config.out.handle : -1;
    this.addon.setForward(
      this.handle,
      out,
      config.target?.address ?? null,
      config.target?.port ?? 0,
      config.held,
      config.latched?.address ?? null,
      config.latched?.port ?? 0,
      config.signaled?.address ?? null,
      config.signaled?.port ?? 0,
      config.ptFlags,
      config.demux,
    );
  }

  setClockRate(rate: number): void {
    if (!this.closed) this.addon.setClockRate(this.handle, rate);
  }

  feed(packet: Buffer): void {
    if (!this.closed) this.addon.feed(this.handle, packet);
  }

  counters(): FastCounters | undefined {
    const f = this.scratch;
    if (this.closed) return this.final;
    if (!this.addon.stats(this.handle, f)) return undefined;
    return {
      receivedPackets: f[F.rxPackets]!,
      receivedBytes: f[F.rxBytes]!,
      forwardedPackets: f[F.fwdPackets]!,
      forwardedBytes: f[F.fwdBytes]!,
      droppedHeld: f[F.dropHeld]!,
      droppedNoRoute: f[F.dropNoRoute]!,
      droppedSendError: f[F.dropSendError]!,
      idleMs: f[F.ageMs]! < 0 ? undefined : f[F.ageMs]!,
      rtp: {
        packets: f[F.rsPackets]!,
        bytes: f[F.rsBytes]!,
        expected: f[F.rsExpected]!,
        distinct: f[F.rsDistinct]!,
        outOfOrder: f[F.rsOutOfOrder]!,
        duplicates: f[F.rsDuplicates]!,
        highestSequence: f[F.rsHighest]!,
        jitter: f[F.rsJitter]!,
        clockRate: f[F.rsClockRate]!,
      },
      lastForwarded:
        f[F.fwdAgeMs]! < 0 ? undefined : { ssrc: f[F.fwdSsrc]!, seq: f[F.fwdSeq]!, timestamp: f[F.fwdTs]!, ageMs: f[F.fwdAgeMs]! },
    };
  }
}

function load(): { addon: MediaIoAddon; io: RelayIo } | undefined {
  if (loaded !== undefined || loadError !== undefined) return loaded;
  const r = loadNativeAddon<MediaIoAddon>("media-io", "media_io.node");
  if (!r.ok) {
    loadError = r.error;
    return undefined;
  }
  const addon = r.value;
  if (addon.statsFields !== F.count) {
    loadError = `addon reports ${addon.statsFields} stats fields, expected ${F.count}: rebuild it`;
    return undefined;
  }
  const sockets = new Map<number, NativeSocket>();
  const scratch = new Float64Array(F.count);
  addon.init((handle, packet, address, port) => sockets.get(handle)?.deliver(packet, { address, port }));
  const io: RelayIo = {
    kind: "native",
    bind(address, port, bufferBytes) {
      const handle = addon.bind(address, port, bufferBytes);
      if (handle === -constants.errno.EADDRINUSE || handle === -constants.errno.EACCES) return Promise.resolve("in-use");
      if (handle < 0) {
        return Promise.reject(new MediaRelayError("MEDIA_BIND_FAILED", `cannot bind ${address}:${port} (errno ${-handle})`));
      }
      const socket = new NativeSocket(addon, sockets, handle, scratch);
      sockets.set(handle, socket);
      return Promise.resolve(socket);
    },
  };
  loaded = { addon, io };
  return loaded;
}

/** The native relay I/O of this thread, or undefined when the addon is not built or does not load (see nativeIoError). */
export function nativeIo(): RelayIo | undefined {
  return load()?.io;
}

/** Why nativeIo() is undefined. */
export function nativeIoError(): string | undefined {
  load();
  return loadError;
}

/** Datagrams this thread's addon forwarded without JavaScript (0 without the addon). */
export function nativeFastPackets(): number {
  return load()?.addon.fastPackets() ?? 0;
}

/**
 * Runs this thread's native I/O thread under SCHED_FIFO at priority (1-99), or under the normal
 * scheduler for 0; undefined when done, else why not (no addon, or the errno name: EPERM without
 * CAP_SYS_NICE or a high enough RLIMIT_RTPRIO).
 */
export function setNativeRealtime(priority: number): string | undefined {
  const l = load();
  if (l === undefined) return nativeIoError() ?? "native media I/O unavailable";
  const e = l.addon.setRealtime(priority);
  return e === 0 ? undefined : getSystemErrorName(-e);
}

/** Which relay I/O to use: native when asked or (auto) when it loads, else node:dgram. */
export type MediaIoMode = "auto" | "native" | "dgram";

/** The relay I/O for a mode: `native` fails with MEDIA_BAD_OPTIONS when the addon does not load; `auto` falls back to node:dgram. */
export function selectIo(mode: MediaIoMode, fallback: RelayIo): { readonly io: RelayIo; readonly reason?: string } {
  if (mode === "dgram") return { io: fallback, reason: "media.io is dgram" };
  const native = nativeIo();
  if (native !== undefined) return { io: native };
  const reason = nativeIoError() ?? "native media I/O unavailable";
  if (mode === "native") throw new MediaRelayError("MEDIA_BAD_OPTIONS", `media.io is native but the addon does not load: ${reason}`);
  return { io: fallback, reason };
}
