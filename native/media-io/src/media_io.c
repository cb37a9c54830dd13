/*
 * Trunkline media I/O: the relay's UDP sockets, owned in C, with a fast path that forwards plain
 * RTP between the two legs of a stream without entering JavaScript.
 *
 * One instance per JavaScript environment (main thread or relay worker, napi instance data). Each
 * instance has one I/O thread of its own, blocked in epoll_wait on all of its sockets, so that
 * garbage collection, timers and other JavaScript work in the environment's loop never delay
 * forwarding. (A uv_poll_t per socket in the loop did the same work but queued behind any JS stall,
 * and an epoll set of our own polled through one uv_poll_t woke late, tens of ms at the 99th
 * percentile.) Per socket, JavaScript says (setForward) which sources are accepted, where accepted
 * RTP goes and which payload types C may forward as they are; every other datagram (RTCP, events,
 * unknown sources, anything JS must rewrite) is queued for the JavaScript callback, which runs in the
 * loop (woken by a uv_async_t), applies the full relay logic and sends through send().
 *
 * Locking: one mutex per instance guards the slot table, every socket's forwarding state and
 * counters, and the JavaScript queue. The I/O thread holds it per socket it drains; JavaScript
 * calls hold it briefly. Only the JavaScript thread binds, closes and frees sockets, so it reads a
 * socket's fd (send, localAddress) without the lock.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
/* Ready sockets taken per epoll_wait. */
#define EVENTS 256
/* epoll key of the eventfd that stops the I/O thread (socket keys have a generation below 2^31). */
#define STOP_KEY UINT64_MAX
/*
 * Bytes of datagrams waiting for JavaScript; past it, new ones are dropped, as a socket's full
 * receive buffer would drop them if JavaScript read the socket itself. 16 MB is seconds of every
 * stream of a busy relay, so only a stalled loop reaches it.
 */
#define JS_QUEUE_BYTES (16u << 20)

/* Per payload type flags set by JavaScript. */
#define PT_FAST 1  /* forward in C: the JS processor would leave it as it is */
#define PT_STATS 2 /* counts in the receive statistics (not events or comfort noise) */

typedef struct io_instance io_instance;
typedef struct io_socket io_socket;

/* A slot of the socket table: the fd and generation beside the pointer, so the fast path checks and uses the outgoing socket without touching its struct. */
typedef struct slot {
  io_socket *s;
  int fd;
  uint32_t gen;
} slot;

struct io_socket {
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
  /* In the I/O thread's list of sockets it left unread (at the round limit) to come back to. */
  int backlogged;
  rtp_stats stats;
};

/* A datagram waiting for JavaScript. */
typedef struct js_packet {
  struct js_packet *next;
  double handle;
  struct sockaddr_storage from;
  size_t len;
  uint8_t data[];
} js_packet;

struct io_instance {
  napi_env env;
  uv_loop_t *loop;
  napi_ref deliver;
  napi_async_context async;
  pthread_mutex_t lock;
  /* Guarded by lock (written by the JavaScript thread only). */
  slot *slots;
  uint32_t nslots;
  uint32_t *free_list;
  uint32_t nfree;
  uint32_t open_sockets;
  uint32_t generation;
  int has_deliver;
  /* Guarded by lock (written by the I/O thread). */
  double fast_packets;
  js_packet *queue_head, *queue_tail;
  size_t queued_bytes;
  double queue_drops;
  /* Wakes the loop to hand queued datagrams to JavaScript; referenced while a socket is open. */
  uv_async_t wake;
  /* The I/O thread, started by the first bind (or setRealtime). */
  int thread_started;
  pthread_t thread;
  int epfd;
  int stopfd;
  napi_async_cleanup_hook_handle cleanup_hook;
  /* The I/O thread's receive buffers. */
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
  io_socket *s = io->slots[idx].s;
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
  const slot *out = s->out_idx >= 0 && (uint32_t)s->out_idx < io->nslots ? &io->slots[s->out_idx] : NULL;
  if (!s->has_target || out == NULL || out->s == NULL || out->gen != s->out_gen) {
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

/* The socket an epoll key names, if it is still the one registered under it (lock held). */
static io_socket *socket_at(io_instance *io, uint64_t key) {
  uint32_t idx = (uint32_t)(key & 0xffffffffu);
  uint32_t gen = (uint32_t)(key >> 32);
  if (idx >= io->nslots) return NULL;
  const slot *e = &io->slots[idx];
  return e->s != NULL && e->gen == gen ? e->s : NULL;
}

/* Queues a copy of a datagram for JavaScript (lock held); 1 when queued. */
static int enqueue(io_instance *io, double handle, const uint8_t *data, size_t len, const struct sockaddr_storage *from) {
  if (!io->has_deliver) return 0; /* init() not called: nobody to hand it to */
  if (io->queued_bytes + len > JS_QUEUE_BYTES) {
    io->queue_drops++;
    return 0;
  }
  js_packet *p = malloc(sizeof *p + len);
  if (p == NULL) {
    io->queue_drops++;
    return 0;
  }
  p->next = NULL;
  p->handle = handle;
  p->from = *from;
  p->len = len;
  memcpy(p->data, data, len);
  if (io->queue_tail != NULL) io->queue_tail->next = p;
  else io->queue_head = p;
  io->queue_tail = p;
  io->queued_bytes += len;
  return 1;
}

/*
 * Reads what one ready socket holds, at most ROUNDS batches so one flooded socket cannot starve the
 * others (lock held); returns 1 when it may hold more. Sets *queued when a datagram went to JavaScript.
 */
#define ROUNDS 8
static int drain_socket(io_instance *io, io_socket *s, double now, int *queued) {
  double h = (double)s->gen * SLOT_SPAN + (double)s->idx;
  for (int round = 0; round < ROUNDS; round++) {
    int m = recvmmsg(s->fd, io->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (m <= 0) return 0;
    for (int i = 0; i < m; i++) {
      const uint8_t *p = io->bufs[i];
      size_t len = io->msgs[i].msg_len;
      if (io->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue; /* cannot happen at MAX_DATAGRAM */
      if (forward(io, s, p, len, &io->names[i], now)) continue;
      *queued |= enqueue(io, h, p, len, &io->names[i]);
    }
    for (int i = 0; i < m; i++) io->msgs[i].msg_hdr.msg_namelen = sizeof io->names[i];
    /* A short batch means the kernel met an empty queue: the socket is drained. */
    if (m < BATCH) return 0;
  }
  return 1;
}

/*
 * Drains the socket an epoll key names, if it is still open; returns 1 when it must go on the
 * backlog (it may hold more and is not there yet). from_backlog: the key was taken off it.
 */
static int service(io_instance *io, uint64_t key, int from_backlog, int *queued) {
  double now = now_ms();
  /* Per socket, so a JavaScript call waits for one socket's batch at most. */
  pthread_mutex_lock(&io->lock);
  io_socket *s = socket_at(io, key);
  int add = 0;
  if (s != NULL) {
    if (from_backlog) s->backlogged = 0;
    if (drain_socket(io, s, now, queued) && !s->backlogged) add = s->backlogged = 1;
  }
  pthread_mutex_unlock(&io->lock);
  return add;
}

/* The I/O thread: waits for ready sockets and drains each, until the stop eventfd is written. */
static void *io_thread(void *arg) {
  io_instance *io = arg;
  struct epoll_event events[EVENTS];
  /* Sockets left with datagrams at the round limit: edge-triggered epoll will not report them again. */
  uint64_t *backlog = NULL;
  size_t nback = 0, capback = 0;
  for (;;) {
    int n = epoll_wait(io->epfd, events, EVENTS, nback > 0 ? 0 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    int stop = 0, queued = 0;
    size_t kept = 0;
    for (size_t i = 0; i < nback; i++) {
      if (service(io, backlog[i], 1, &queued)) backlog[kept++] = backlog[i];
    }
    nback = kept;
    for (int i = 0; i < n; i++) {
      uint64_t key = events[i].data.u64;
      if (key == STOP_KEY) {
        stop = 1;
        continue;
      }
      if (!service(io, key, 0, &queued)) continue;
      if (nback == capback) {
        size_t cap = capback == 0 ? EVENTS : capback * 2;
        uint64_t *grown = realloc(backlog, cap * sizeof *grown);
        if (grown == NULL) {
          /* No room to remember it: read it to the end now instead. */
          while (service(io, key, 1, &queued)) {
          }
          continue;
        }
        backlog = grown;
        capback = cap;
      }
      backlog[nback++] = key;
    }
    if (queued) uv_async_send(&io->wake);
    if (stop) break;
  }
  free(backlog);
  return NULL;
}

/* Hands the queued datagrams to JavaScript, in the loop (the uv_async_t callback). */
static void on_wake(uv_async_t *handle) {
  io_instance *io = handle->data;
  pthread_mutex_lock(&io->lock);
  js_packet *list = io->queue_head;
  io->queue_head = io->queue_tail = NULL;
  io->queued_bytes = 0;
  pthread_mutex_unlock(&io->lock);
  if (list == NULL) return;
  napi_env env = io->env;
  napi_handle_scope scope = NULL;
  napi_callback_scope cscope = NULL;
  napi_value fn = NULL, recv = NULL, resource = NULL;
  if (io->deliver != NULL && napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_get_reference_value(env, io->deliver, &fn);
    napi_get_undefined(env, &recv);
    napi_get_global(env, &resource);
    /* A callback scope, so promises and nextTicks queued by the handler run after the batch. */
    napi_open_callback_scope(env, resource, io->async, &cscope);
  }
  while (list != NULL) {
    js_packet *p = list;
    list = p->next;
    /* The handler may close or reconfigure any socket; a closed one's handle is simply unknown to it. */
    if (fn != NULL) deliver(io, fn, recv, p->handle, p->data, p->len, &p->from);
    free(p);
  }
  if (cscope != NULL) napi_close_callback_scope(env, cscope);
  if (scope != NULL) napi_close_handle_scope(env, scope);
}

/* Starts the I/O thread and its epoll set; 0 or an errno. */
static int start_thread(io_instance *io) {
  if (io->thread_started) return 0;
  io->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (io->epfd < 0) return errno;
  io->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = STOP_KEY};
  if (io->stopfd < 0 || epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->stopfd, &ev) < 0) {
    int e = errno;
    if (io->stopfd >= 0) close(io->stopfd);
    close(io->epfd);
    return e;
  }
  /* Signals stay with Node's threads: the I/O thread blocks them all. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&io->thread, NULL, io_thread, io);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0) {
    close(io->stopfd);
    close(io->epfd);
    return e;
  }
  pthread_setname_np(io->thread, "media-io");
  io->thread_started = 1;
  return 0;
}

static void stop_thread(io_instance *io) {
  if (!io->thread_started) return;
  uint64_t one = 1;
  while (write(io->stopfd, &one, sizeof one) < 0 && errno == EINTR) {
  }
  pthread_join(io->thread, NULL);
  io->thread_started = 0;
  close(io->stopfd);
  close(io->epfd);
}

/* Takes a socket out of the epoll set and the slot table, closes its fd and frees it (JavaScript thread). */
static void close_socket(io_instance *io, io_socket *s) {
  pthread_mutex_lock(&io->lock);
  if (io->thread_started) epoll_ctl(io->epfd, EPOLL_CTL_DEL, s->fd, NULL);
  close(s->fd);
  s->open = 0;
  io->slots[s->idx] = (slot){NULL, -1, 0};
  io->free_list[io->nfree++] = s->idx;
  io->open_sockets--;
  uint32_t left = io->open_sockets;
  pthread_mutex_unlock(&io->lock);
  free(s);
  if (left == 0) uv_unref((uv_handle_t *)&io->wake);
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
  pthread_mutex_lock(&io->lock);
  io->has_deliver = 1;
  pthread_mutex_unlock(&io->lock);
  return NULL;
}

/* Puts a new socket in a free slot and in the epoll set; 0 or an errno. */
static int register_socket(io_instance *io, io_socket *s) {
  pthread_mutex_lock(&io->lock);
  uint32_t idx;
  if (io->nfree > 0) {
    idx = io->free_list[--io->nfree];
  } else {
    if (io->nslots % 1024 == 0) {
      uint32_t cap = io->nslots + 1024;
      slot *slots = realloc(io->slots, cap * sizeof *slots);
      uint32_t *fl = realloc(io->free_list, cap * sizeof *fl);
      if (slots != NULL) io->slots = slots;
      if (fl != NULL) io->free_list = fl;
      if (slots == NULL || fl == NULL) {
        pthread_mutex_unlock(&io->lock);
        return ENOMEM;
      }
    }
    idx = io->nslots++;
    io->slots[idx] = (slot){NULL, -1, 0};
  }
  s->gen = (++io->generation) % 2000000;
  s->idx = idx;
  /* Edge-triggered: the I/O thread reads a socket until EAGAIN or keeps it in its backlog, so a level-triggered re-check of every socket it read is not needed. */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = ((uint64_t)s->gen << 32) | idx};
  if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
    int e = errno;
    io->free_list[io->nfree++] = idx;
    pthread_mutex_unlock(&io->lock);
    return e;
  }
  io->slots[idx] = (slot){s, s->fd, s->gen};
  io->open_sockets++;
  pthread_mutex_unlock(&io->lock);
  return 0;
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
  int started = start_thread(io);
  if (started != 0) return number(env, -started);
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
  s->fd = fd;
  s->open = 1;
  s->family = addr.ss_family;
  s->out_idx = -1;
  s->last_ms = -1;
  rtp_stats_reset(&s->stats, 8000);
  s->io = io;
  int e = register_socket(io, s);
  if (e != 0) {
    close(fd);
    free(s);
    return number(env, -e);
  }
  /* Like a bound dgram socket, an open socket keeps the loop alive until it is closed. */
  if (io->open_sockets == 1) uv_ref((uv_handle_t *)&io->wake);
  return number(env, (double)s->gen * SLOT_SPAN + (double)s->idx);
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
  /* Everything is read into locals first, so the I/O thread never sees half a configuration. */
  double out_handle = arg_number(env, argv[1], -1);
  io_socket *out = socket_of(io, out_handle);
  struct sockaddr_storage target, latched, signaled;
  socklen_t target_len = 0;
  int has_target = arg_endpoint(env, argv[2], argv[3], &target, &target_len);
  bool held = false;
  napi_get_value_bool(env, argv[4], &held);
  bool demux = true;
  napi_get_value_bool(env, argv[10], &demux);
  int has_latched = arg_endpoint(env, argv[5], argv[6], &latched, NULL);
  int has_signaled = arg_endpoint(env, argv[7], argv[8], &signaled, NULL);
  bool is_typed = false;
  napi_is_typedarray(env, argv[9], &is_typed);
  const void *flags = NULL;
  if (is_typed) {
    napi_typedarray_type type;
    size_t length;
    void *data;
    napi_get_typedarray_info(env, argv[9], &type, &length, &data, NULL, NULL);
    if (type == napi_uint8_array && length >= 128) flags = data;
  }
  pthread_mutex_lock(&io->lock);
  if (out != NULL) {
    s->out_idx = (int)out->idx;
    s->out_gen = out->gen;
  } else {
    s->out_idx = -1;
  }
  s->has_target = has_target;
  if (has_target) {
    s->target = target;
    s->target_len = target_len;
  }
  s->held = held;
  s->demux = demux;
  s->has_latched = has_latched;
  if (has_latched) s->latched = latched;
  s->has_signaled = has_signaled;
  if (has_signaled) s->signaled = signaled;
  s->fast = flags != NULL;
  if (flags != NULL) memcpy(s->pt_flags, flags, 128);
  pthread_mutex_unlock(&io->lock);
  return NULL;
}

/** setClockRate(handle, rate): the RTP clock rate of the stream received on the socket (for jitter). */
static napi_value js_set_clock_rate(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_instance *io = instance_of(env);
  io_socket *s = socket_of(io, arg_number(env, argv[0], -1));
  double rate = arg_number(env, argv[1], 8000);
  if (s == NULL) return NULL;
  pthread_mutex_lock(&io->lock);
  if (!s->stats.started) s->stats.clock_rate = rate;
  pthread_mutex_unlock(&io->lock);
  return NULL;
}

/** feed(handle, buffer): accounts an RTP packet JavaScript relayed in the socket's receive statistics. */
static napi_value js_feed(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_instance *io = instance_of(env);
  io_socket *s = socket_of(io, arg_number(env, argv[0], -1));
  void *data;
  size_t len;
  if (s == NULL || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || len < 12) return NULL;
  const uint8_t *p = data;
  double now = now_ms();
  pthread_mutex_lock(&io->lock);
  if (s->pt_flags[p[1] & 0x7f] & PT_STATS) rtp_stats_packet(&s->stats, be16(p + 2), be32(p + 4), now, (uint32_t)len);
  pthread_mutex_unlock(&io->lock);
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
  io_instance *io = instance_of(env);
  io_socket *s = socket_of(io, arg_number(env, argv[0], -1));
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
  pthread_mutex_lock(&io->lock);
  /* Read under the lock: the I/O thread stamps before it takes it, so an age is never negative. */
  double now = now_ms();
  f[F_RX_PACKETS] = s->rx_packets;
  f[F_RX_BYTES] = s->rx_bytes;
  f[F_FWD_PACKETS] = s->fwd_packets;
  f[F_FWD_BYTES] = s->fwd_bytes;
  f[F_DROP_HELD] = s->drop_held;
  f[F_DROP_NO_ROUTE] = s->drop_no_route;
  f[F_DROP_SEND_ERROR] = s->drop_send_error;
  f[F_AGE_MS] = s->last_ms < 0 ? -1 : now - s->last_ms;
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
  f[F_FWD_AGE_MS] = s->fwd_packets > 0 ? now - s->fwd_ms : -1;
  pthread_mutex_unlock(&io->lock);
  napi_get_boolean(env, true, &result);
  return result;
}

/** close(handle): closes the socket; later calls with the handle do nothing. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_instance *io = instance_of(env);
  io_socket *s = socket_of(io, arg_number(env, argv[0], -1));
  if (s != NULL) close_socket(io, s);
  return NULL;
}

/**
 * setRealtime(priority): runs the I/O thread under SCHED_FIFO at priority 1-99, or back under the
 * normal scheduler for 0; 0 or the errno (EPERM without CAP_SYS_NICE or an RLIMIT_RTPRIO that
 * allows it). Under the normal scheduler a busy I/O thread loses wake-up preemption to any thread
 * that slept, and each such wait holds every stream's packets in the socket buffers for a time slice.
 */
static napi_value js_set_realtime(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  io_instance *io = instance_of(env);
  double priority = argc < 1 ? -1 : arg_number(env, argv[0], -1);
  if (io == NULL || priority < 0 || priority > 99 || priority != (int)priority) return number(env, EINVAL);
  int e = start_thread(io);
  if (e != 0) return number(env, e);
  struct sched_param param = {.sched_priority = (int)priority};
  return number(env, pthread_setschedparam(io->thread, priority > 0 ? SCHED_FIFO : SCHED_OTHER, &param));
}

/** fastPackets(): datagrams this instance forwarded without JavaScript. */
static napi_value js_fast_packets(napi_env env, napi_callback_info info) {
  io_instance *io = instance_of(env);
  pthread_mutex_lock(&io->lock);
  double n = io->fast_packets;
  pthread_mutex_unlock(&io->lock);
  return number(env, n);
}

static void finish_teardown(uv_handle_t *handle) {
  io_instance *io = handle->data;
  napi_async_cleanup_hook_handle hook = io->cleanup_hook;
  pthread_mutex_destroy(&io->lock);
  free(io->slots);
  free(io->free_list);
  free(io);
  napi_remove_async_cleanup_hook(hook);
}

/* Environment teardown (process exit or worker termination): stop the thread, close every socket, then free. */
static void on_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  io_instance *io = arg;
  io->cleanup_hook = hook;
  stop_thread(io);
  if (io->deliver != NULL) napi_delete_reference(io->env, io->deliver);
  io->deliver = NULL;
  if (io->async != NULL) napi_async_destroy(io->env, io->async);
  for (uint32_t i = 0; i < io->nslots; i++) {
    if (io->slots[i].s != NULL) close_socket(io, io->slots[i].s);
  }
  while (io->queue_head != NULL) {
    js_packet *p = io->queue_head;
    io->queue_head = p->next;
    free(p);
  }
  uv_close((uv_handle_t *)&io->wake, finish_teardown);
}

static napi_value Init(napi_env env, napi_value exports) {
  io_instance *io = calloc(1, sizeof *io);
  if (io == NULL) return throw_error(env, "media-io: out of memory");
  io->env = env;
  io->epfd = -1;
  io->stopfd = -1;
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
  /*
   * Priority inheritance: with setRealtime the I/O thread may wait on this lock for a JavaScript
   * thread of normal priority, which must not then be kept off the CPU by other normal threads.
   */
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
  int locked = pthread_mutex_init(&io->lock, &attr);
  pthread_mutexattr_destroy(&attr);
  if (loop == NULL || locked != 0) {
    if (locked == 0) pthread_mutex_destroy(&io->lock);
    free(io);
    return throw_error(env, loop == NULL ? "media-io: no event loop" : "media-io: mutex init failed");
  }
  io->loop = loop;
  if (uv_async_init(loop, &io->wake, on_wake) != 0) {
    pthread_mutex_destroy(&io->lock);
    free(io);
    return throw_error(env, "media-io: uv_async_init failed");
  }
  io->wake.data = io;
  uv_unref((uv_handle_t *)&io->wake);
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
      {"setRealtime", NULL, js_set_realtime, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value fields;
  napi_create_int32(env, F_COUNT, &fields);
  napi_set_named_property(env, exports, "statsFields", fields);
  return exports;
}

NAPI_MODULE_INIT() { return Init(env, exports); }
