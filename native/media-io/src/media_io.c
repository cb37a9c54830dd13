/*
 * Trunkline media I/O: the relay's UDP sockets, owned in C, with a fast path that forwards plain
 * RTP between the two legs of a stream without entering JavaScript.
 *
 * One instance per JavaScript environment (main thread or relay worker, napi instance data). It
 * runs in that thread's libuv loop: each socket has a uv_poll_t there, so there are no extra threads
 * and no locks (an epoll set of our own, polled through one uv_poll_t, was tried first: nested
 * epoll wake-ups came late, tens of ms at the 99th percentile). Per socket, JavaScript says (setForward)
 * which sources are accepted, where accepted RTP goes and which payload types C may forward as
 * they are; every other datagram (RTCP, events, unknown sources, anything JS must rewrite) is
 * handed to the JavaScript callback, which runs the full relay logic and sends through send().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "rtp_stats.h"

#define BATCH 32
/* The largest UDP payload, so nothing is ever truncated (pages are only touched when used). */
#define MAX_DATAGRAM 65536
/* Handles are slot index + generation * SLOT_SPAN, so a stale handle never reaches a reused slot. */
#define SLOT_SPAN 1048576.0
#define MAX_SLOTS 1048575

/* Per payload type flags set by JavaScript. */
#define PT_FAST 1  /* forward in C: the JS processor would leave it as it is */
#define PT_STATS 2 /* counts in the receive statistics (not events or comfort noise) */

typedef struct io_instance io_instance;

typedef struct io_socket {
  uv_poll_t poll;
  io_instance *io;
  uint32_t idx;
  int fd;
  int open;
  uint32_t gen;
  int family;
  /* Fast path: off until setForward gives a mask. */
  int fast;
  int demux;
  int held;
  uint8_t pt_flags[128];
  int has_latched, has_signaled, has_target;
  struct sockaddr_storage latched, signaled, target;
  socklen_t target_len;
  int out_idx;
  uint32_t out_gen;
  /* What C handled itself; JavaScript adds its own counts. */
  double rx_packets, rx_bytes, fwd_packets, fwd_bytes;
  double drop_held, drop_no_route, drop_send_error;
  double last_ms;
  /* Header of the last RTP packet C forwarded, so JS can continue its sequence (injected DTMF). */
  double fwd_ssrc, fwd_seq, fwd_ts, fwd_ms;
  rtp_stats stats;
} io_socket;

struct io_instance {
  napi_env env;
  uv_loop_t *loop;
  napi_ref deliver;
  napi_async_context async;
  io_socket **slots;
  uint32_t nslots;
  uint32_t *free_list;
  uint32_t nfree;
  /* Poll handles not yet closed (uv_close is asynchronous); teardown waits for them. */
  uint32_t live_handles;
  int tearing_down;
  double fast_packets;
  uint32_t generation;
  napi_async_cleanup_hook_handle cleanup_hook;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage names[BATCH];
  uint8_t bufs[BATCH][MAX_DATAGRAM];
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static io_instance *instance_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

static io_socket *socket_of(io_instance *io, double handle) {
  if (handle < 0) return NULL;
  uint32_t idx = (uint32_t)((uint64_t)handle % (uint64_t)SLOT_SPAN);
  uint32_t gen = (uint32_t)((uint64_t)handle / (uint64_t)SLOT_SPAN);
  if (idx >= io->nslots) return NULL;
  io_socket *s = io->slots[idx];
  if (s == NULL || !s->open || s->gen != gen) return NULL;
  return s;
}

static int same_address(const struct sockaddr_storage *x, const struct sockaddr_storage *y) {
  if (x->ss_family != y->ss_family) return 0;
  if (x->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const void *)x, *b = (const void *)y;
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *a = (const void *)x, *b = (const void *)y;
  return a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
}

/* Parses an IP literal and port into a socket address; 0 when it is not one. */
static socklen_t make_address(const char *text, int port, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  struct sockaddr_in *v4 = (void *)out;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    return sizeof *v4;
  }
  struct sockaddr_in6 *v6 = (void *)out;
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    return sizeof *v6;
  }
  return 0;
}

/* Writes a socket address's IP as text into text (INET6_ADDRSTRLEN bytes); returns its port (0 and "" for another family). */
static int address_text(const struct sockaddr_storage *from, char *text) {
  text[0] = '\0';
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const void *)from;
    inet_ntop(AF_INET, &a->sin_addr, text, INET6_ADDRSTRLEN);
    return ntohs(a->sin_port);
  }
  if (from->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const void *)from;
    inet_ntop(AF_INET6, &a->sin6_addr, text, INET6_ADDRSTRLEN);
    return ntohs(a->sin6_port);
  }
  return 0;
}

/* Big-endian reads of RTP header fields. */
static uint32_t be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }
static uint32_t be32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

/* Hands one datagram to JavaScript: deliver(handle, buffer, address, port). */
static void deliver(io_instance *io, napi_value fn, napi_value recv, double handle, const uint8_t *data, size_t len,
                    const struct sockaddr_storage *from) {
  napi_env env = io->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  char text[INET6_ADDRSTRLEN];
  int port = address_text(from, text);
  napi_value argv[4];
  void *copy = NULL;
  napi_create_double(env, handle, &argv[0]);
  napi_create_buffer_copy(env, len, data, &copy, &argv[1]);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(env, port, &argv[3]);
  napi_value result;
  if (napi_call_function(env, recv, fn, 4, argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

/* The fast path for one datagram; returns 1 when C dealt with it, 0 when JavaScript must. */
static int forward(io_instance *io, io_socket *s, const uint8_t *p, size_t len, const struct sockaddr_storage *from, double now) {
  if (!s->fast || len < 12) return 0;
  /* RFC 7983 7: RTP and RTCP start with 128-191; RFC 5761 4: second octet 192-223 is RTCP. */
  if (p[0] < 128 || p[0] > 191) return 0;
  if (s->demux && p[1] >= 192 && p[1] <= 223) return 0;
  /* Accepted sources: the latched one, else the signaled one; JS decides anything new. */
  if (s->has_latched) {
    if (!same_address(from, &s->latched)) return 0;
  } else if (!s->has_signaled || !same_address(from, &s->signaled)) {
    return 0;
  }
  uint8_t pt = p[1] & 0x7f;
  uint8_t flags = s->pt_flags[pt];
  if (!(flags & PT_FAST)) return 0;
  s->rx_packets++;
  s->rx_bytes += (double)len;
  s->last_ms = now;
  if (flags & PT_STATS) rtp_stats_packet(&s->stats, be16(p + 2), be32(p + 4), now, (uint32_t)len);
  /* RFC 3264 5.1: a sendonly/inactive leg receives no RTP. */
  if (s->held) {
    s->drop_held++;
    return 1;
  }
  io_socket *out = s->out_idx >= 0 && (uint32_t)s->out_idx < io->nslots ? io->slots[s->out_idx] : NULL;
  if (!s->has_target || out == NULL || !out->open || out->gen != s->out_gen) {
    s->drop_no_route++;
    return 1;
  }
  ssize_t sent = sendto(out->fd, p, len, MSG_DONTWAIT, (const struct sockaddr *)&s->target, s->target_len);
  if (sent < 0) {
    s->drop_send_error++;
  } else {
    s->fwd_packets++;
    s->fwd_bytes += (double)len;
    s->fwd_seq = be16(p + 2);
    s->fwd_ts = be32(p + 4);
    s->fwd_ssrc = be32(p + 8);
    s->fwd_ms = now;
    io->fast_packets++;
  }
  return 1;
}

static void free_slot(io_instance *io, uint32_t idx) {
  io->slots[idx] = NULL;
  io->free_list[io->nfree++] = idx;
}

static void finish_teardown(io_instance *io);

static void on_socket_closed(uv_handle_t *handle) {
  io_socket *s = handle->data;
  io_instance *io = s->io;
  free(s);
  io->live_handles--;
  if (io->tearing_down && io->live_handles == 0) finish_teardown(io);
}

/* Stops polling, closes the fd and frees the slot now; the struct goes when libuv is done with it. */
static void close_socket(io_instance *io, io_socket *s) {
  if (!s->open) return;
  s->open = 0;
  uv_poll_stop(&s->poll);
  close(s->fd);
  s->fd = -1;
  free_slot(io, s->idx);
  uv_close((uv_handle_t *)&s->poll, on_socket_closed);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  io_socket *s = handle->data;
  io_instance *io = s->io;
  if (!s->open || status < 0) return;
  napi_env env = io->env;
  napi_handle_scope scope = NULL;
  napi_value fn = NULL, recv = NULL;
  napi_callback_scope cscope = NULL;
  double now = now_ms();
  double h = (double)s->gen * SLOT_SPAN + (double)s->idx;
  for (int round = 0; round < 8 && s->open; round++) {
    int m = recvmmsg(s->fd, io->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (m <= 0) break;
    for (int i = 0; i < m && s->open; i++) {
      const uint8_t *p = io->bufs[i];
      size_t len = io->msgs[i].msg_len;
      if (io->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue; /* cannot happen at MAX_DATAGRAM */
      if (forward(io, s, p, len, &io->names[i], now)) continue;
      if (io->deliver == NULL) continue; /* init() not called: nobody to hand it to */
      if (fn == NULL) {
        napi_open_handle_scope(env, &scope);
        napi_get_reference_value(env, io->deliver, &fn);
        napi_get_undefined(env, &recv);
        napi_value resource;
        napi_get_global(env, &resource);
        /* A callback scope, so promises and nextTicks queued by the handler run after the batch. */
        napi_open_callback_scope(env, resource, io->async, &cscope);
      }
      /* The handler may close or reconfigure this socket: s stays valid until its close callback. */
      if (fn != NULL) deliver(io, fn, recv, h, p, len, &io->names[i]);
    }
    for (int i = 0; i < BATCH; i++) io->msgs[i].msg_hdr.msg_namelen = sizeof io->names[i];
    if (m < BATCH) break;
  }
  if (cscope != NULL) napi_close_callback_scope(env, cscope);
  if (scope != NULL) napi_close_handle_scope(env, scope);
}

/* ---- argument helpers ---- */

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, "MEDIA_IO", msg);
  return NULL;
}

static double arg_number(napi_env env, napi_value v, double fallback) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return fallback;
  return d;
}

/* Copies a string argument; returns 0 for null/undefined or a non-string. */
static int arg_string(napi_env env, napi_value v, char *out, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, out, size, &len) != napi_ok) return 0;
  return 1;
}

static napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

/* ---- JavaScript API ---- */

/** init(deliver): sets the function that receives the datagrams JavaScript must handle. */
static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_instance *io = instance_of(env);
  if (io == NULL) return throw_error(env, "media-io instance missing");
  if (io->deliver != NULL) napi_delete_reference(env, io->deliver);
  napi_create_reference(env, argv[0], 1, &io->deliver);
  return NULL;
}

/** bind(address, port, bufferBytes): a handle (>= 0), or minus the errno. */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_instance *io = instance_of(env);
  char text[64];
  if (argc < 3 || !arg_string(env, argv[0], text, sizeof text)) return throw_error(env, "bind(address, port, bufferBytes)");
  int port = (int)arg_number(env, argv[1], -1);
  int buffer = (int)arg_number(env, argv[2], 0);
  struct sockaddr_storage addr;
  socklen_t alen = make_address(text, port, &addr);
  if (alen == 0 || port < 0 || port > 65535) return number(env, -EINVAL);
  if (io->nfree == 0 && io->nslots >= MAX_SLOTS) return number(env, -EMFILE);
  int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return number(env, -errno);
  if (addr.ss_family == AF_INET6) {
    int on = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  if (bind(fd, (struct sockaddr *)&addr, alen) < 0) {
    int e = errno;
    close(fd);
    return number(env, -e);
  }
  if (buffer > 0) {
    /* The kernel may cap buffer sizes; the defaults still work. */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  }
  io_socket *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return number(env, -ENOMEM);
  }
  uint32_t idx;
  if (io->nfree > 0) {
    idx = io->free_list[--io->nfree];
  } else {
    if (io->nslots % 1024 == 0) {
      uint32_t cap = io->nslots + 1024;
      io_socket **slots = realloc(io->slots, cap * sizeof *slots);
      uint32_t *fl = realloc(io->free_list, cap * sizeof *fl);
      if (slots != NULL) io->slots = slots;
      if (fl != NULL) io->free_list = fl;
      if (slots == NULL || fl == NULL) {
        free(s);
        close(fd);
        return number(env, -ENOMEM);
      }
    }
    idx = io->nslots++;
    io->slots[idx] = NULL;
  }
  s->gen = (++io->generation) % 2000000;
  s->fd = fd;
  s->open = 1;
  s->family = addr.ss_family;
  s->out_idx = -1;
  s->last_ms = -1;
  rtp_stats_reset(&s->stats, 8000);
  s->io = io;
  s->idx = idx;
  /* Like a bound dgram socket, the poll handle keeps the loop alive until the socket is closed. */
  int e = uv_poll_init(io->loop, &s->poll, fd);
  if (e != 0) {
    close(fd);
    free(s);
    free_slot(io, idx);
    return number(env, e);
  }
  s->poll.data = s;
  io->slots[idx] = s;
  io->live_handles++;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  return number(env, (double)s->gen * SLOT_SPAN + (double)idx);
}

/** localAddress(handle): [address, port]. */
static napi_value js_local_address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_socket *s = socket_of(instance_of(env), arg_number(env, argv[0], -1));
  if (s == NULL) return throw_error(env, "socket closed");
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  getsockname(s->fd, (struct sockaddr *)&a, &len);
  char text[INET6_ADDRSTRLEN];
  int port = address_text(&a, text);
  napi_value result, t, p;
  napi_create_array_with_length(env, 2, &result);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &t);
  napi_create_int32(env, port, &p);
  napi_set_element(env, result, 0, t);
  napi_set_element(env, result, 1, p);
  return result;
}

/** send(handle, buffer, port, address): 0, or the errno. */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_socket *s = socket_of(instance_of(env), arg_number(env, argv[0], -1));
  if (s == NULL) return number(env, EBADF);
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) return throw_error(env, "send: not a Buffer");
  int port = (int)arg_number(env, argv[2], -1);
  char text[64];
  if (!arg_string(env, argv[3], text, sizeof text)) return throw_error(env, "send: bad address");
  struct sockaddr_storage to;
  socklen_t tlen = make_address(text, port, &to);
  if (tlen == 0 || port <= 0 || port > 65535) return number(env, EINVAL);
  if (sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&to, tlen) < 0) return number(env, errno);
  return number(env, 0);
}

/* Reads an optional address + port pair of arguments into out; 1 when present. */
static int arg_endpoint(napi_env env, napi_value address, napi_value port, struct sockaddr_storage *out, socklen_t *len) {
  char text[64];
  napi_valuetype type;
  napi_typeof(env, address, &type);
  if (type != napi_string || !arg_string(env, address, text, sizeof text)) return 0;
  socklen_t l = make_address(text, (int)arg_number(env, port, 0), out);
  if (len != NULL) *len = l;
  return l != 0;
}

/**
 * setForward(handle, outHandle, targetAddress, targetPort, held, latchedAddress, latchedPort,
 * signaledAddress, signaledPort, ptFlags, demux): configures the fast path of one receiving socket;
 * ptFlags null turns it off (every datagram goes to JavaScript); demux: RTCP may arrive here
 * (RFC 5761), so datagrams that look like RTCP go to JavaScript, else they are RTP like any other.
 */
static napi_value js_set_forward(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 11) return throw_error(env, "setForward: 11 arguments");
  io_instance *io = instance_of(env);
  io_socket *s = socket_of(io, arg_number(env, argv[0], -1));
  if (s == NULL) return NULL;
  double out_handle = arg_number(env, argv[1], -1);
  io_socket *out = socket_of(io, out_handle);
  if (out != NULL) {
    s->out_idx = (int)((uint64_t)out_handle % (uint64_t)SLOT_SPAN);
    s->out_gen = out->gen;
  } else {
    s->out_idx = -1;
  }
  s->has_target = arg_endpoint(env, argv[2], argv[3], &s->target, &s->target_len);
  bool held = false;
  napi_get_value_bool(env, argv[4], &held);
  s->held = held;
  bool demux = true;
  napi_get_value_bool(env, argv[10], &demux);
  s->demux = demux;
  s->has_latched = arg_endpoint(env, argv[5], argv[6], &s->latched, NULL);
  s->has_signaled = arg_endpoint(env, argv[7], argv[8], &s->signaled, NULL);
  bool is_typed = false;
  napi_is_typedarray(env, argv[9], &is_typed);
  s->fast = 0;
  if (is_typed) {
    napi_typedarray_type type;
    size_t length;
    void *data;
    napi_get_typedarray_info(env, argv[9], &type, &length, &data, NULL, NULL);
    if (type == napi_uint8_array && length >= 128) {
      memcpy(s->pt_flags, data, 128);
      s->fast = 1;
    }
  }
  return NULL;
}

/** setClockRate(handle, rate): the RTP clock rate of the stream received on the socket (for jitter). */
static napi_value js_set_clock_rate(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_socket *s = socket_of(instance_of(env), arg_number(env, argv[0], -1));
  if (s != NULL && !s->stats.started) s->stats.clock_rate = arg_number(env, argv[1], 8000);
  return NULL;
}

/** feed(handle, buffer): accounts an RTP packet JavaScript relayed in the socket's receive statistics. */
static napi_value js_feed(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_socket *s = socket_of(instance_of(env), arg_number(env, argv[0], -1));
  void *data;
  size_t len;
  if (s == NULL || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || len < 12) return NULL;
  const uint8_t *p = data;
  if (!(s->pt_flags[p[1] & 0x7f] & PT_STATS)) return NULL;
  rtp_stats_packet(&s->stats, be16(p + 2), be32(p + 4), now_ms(), (uint32_t)len);
  return NULL;
}

/* Field order of stats(); src/media/relay/native-io.ts reads the same. */
enum {
  F_RX_PACKETS, F_RX_BYTES, F_FWD_PACKETS, F_FWD_BYTES, F_DROP_HELD, F_DROP_NO_ROUTE, F_DROP_SEND_ERROR, F_AGE_MS,
  F_RS_PACKETS, F_RS_BYTES, F_RS_EXPECTED, F_RS_DISTINCT, F_RS_OUT_OF_ORDER, F_RS_DUPLICATES, F_RS_HIGHEST, F_RS_JITTER,
  F_RS_CLOCK_RATE, F_FWD_SSRC, F_FWD_SEQ, F_FWD_TS, F_FWD_AGE_MS, F_COUNT
};

/** stats(handle, Float64Array): fills the socket's counters; false when the socket is closed. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_socket *s = socket_of(instance_of(env), arg_number(env, argv[0], -1));
  napi_value result;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (s == NULL || napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || length < F_COUNT) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  double *f = data;
  f[F_RX_PACKETS] = s->rx_packets;
  f[F_RX_BYTES] = s->rx_bytes;
  f[F_FWD_PACKETS] = s->fwd_packets;
  f[F_FWD_BYTES] = s->fwd_bytes;
  f[F_DROP_HELD] = s->drop_held;
  f[F_DROP_NO_ROUTE] = s->drop_no_route;
  f[F_DROP_SEND_ERROR] = s->drop_send_error;
  f[F_AGE_MS] = s->last_ms < 0 ? -1 : now_ms() - s->last_ms;
  f[F_RS_PACKETS] = (double)s->stats.packets;
  f[F_RS_BYTES] = (double)s->stats.bytes;
  f[F_RS_EXPECTED] = (double)rtp_stats_expected(&s->stats);
  f[F_RS_DISTINCT] = (double)s->stats.distinct;
  f[F_RS_OUT_OF_ORDER] = (double)s->stats.out_of_order;
  f[F_RS_DUPLICATES] = (double)s->stats.duplicates;
  f[F_RS_HIGHEST] = (double)rtp_stats_highest(&s->stats);
  f[F_RS_JITTER] = s->stats.jitter;
  f[F_RS_CLOCK_RATE] = s->stats.clock_rate;
  f[F_FWD_SSRC] = s->fwd_ssrc;
  f[F_FWD_SEQ] = s->fwd_seq;
  f[F_FWD_TS] = s->fwd_ts;
  f[F_FWD_AGE_MS] = s->fwd_packets > 0 ? now_ms() - s->fwd_ms : -1;
  napi_get_boolean(env, true, &result);
  return result;
}

/** close(handle): closes the socket; later calls with the handle do nothing. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_instance *io = instance_of(env);
  double handle = arg_number(env, argv[0], -1);
  io_socket *s = socket_of(io, handle);
  if (s == NULL) return NULL;
  close_socket(io, s);
  return NULL;
}

/** fastPackets(): datagrams this instance forwarded without JavaScript. */
static napi_value js_fast_packets(napi_env env, napi_callback_info info) {
  return number(env, instance_of(env)->fast_packets);
}


static void finish_teardown(io_instance *io) {
  napi_async_cleanup_hook_handle hook = io->cleanup_hook;
  free(io->slots);
  free(io->free_list);
  free(io);
  napi_remove_async_cleanup_hook(hook);
}

/* Environment teardown (process exit or worker termination): close every socket, then free. */
static void on_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  io_instance *io = arg;
  io->cleanup_hook = hook;
  io->tearing_down = 1;
  if (io->deliver != NULL) napi_delete_reference(io->env, io->deliver);
  io->deliver = NULL;
  if (io->async != NULL) napi_async_destroy(io->env, io->async);
  for (uint32_t i = 0; i < io->nslots; i++) {
    if (io->slots[i] != NULL) close_socket(io, io->slots[i]);
  }
  if (io->live_handles == 0) finish_teardown(io);
}

static napi_value Init(napi_env env, napi_value exports) {
  io_instance *io = calloc(1, sizeof *io);
  if (io == NULL) return throw_error(env, "media-io: out of memory");
  io->env = env;
  for (int i = 0; i < BATCH; i++) {
    io->iov[i].iov_base = io->bufs[i];
    io->iov[i].iov_len = MAX_DATAGRAM;
    io->msgs[i].msg_hdr.msg_iov = &io->iov[i];
    io->msgs[i].msg_hdr.msg_iovlen = 1;
    io->msgs[i].msg_hdr.msg_name = &io->names[i];
    io->msgs[i].msg_hdr.msg_namelen = sizeof io->names[i];
  }
  struct uv_loop_s *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  if (loop == NULL) {
    free(io);
    return throw_error(env, "media-io: no event loop");
  }
  io->loop = loop;
  napi_value name;
  napi_create_string_utf8(env, "trunkline:media-io", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &io->async);
  napi_set_instance_data(env, io, NULL, NULL);
  napi_add_async_cleanup_hook(env, on_cleanup, io, NULL);

  napi_property_descriptor props[] = {
      {"init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
      {"localAddress", NULL, js_local_address, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"setForward", NULL, js_set_forward, NULL, NULL, NULL, napi_default, NULL},
      {"setClockRate", NULL, js_set_clock_rate, NULL, NULL, NULL, napi_default, NULL},
      {"feed", NULL, js_feed, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"fastPackets", NULL, js_fast_packets, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value fields;
  napi_create_int32(env, F_COUNT, &fields);
  napi_set_named_property(env, exports, "statsFields", fields);
  return exports;
}

NAPI_MODULE_INIT() { return Init(env, exports); }
