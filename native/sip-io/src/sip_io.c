/*
 * SIP UDP sockets for Trunkline (Node-API, context-aware: one instance per thread that loads it).
 *
 * Receiving runs in the owning thread's libuv loop: a uv_poll_t per socket, recvmmsg in batches,
 * each datagram copied into a Buffer for the JS handler. Sending leaves that thread: send() checks
 * the address, copies the datagram into the socket's queue and returns; a sender pthread per socket
 * drains the queue with sendmmsg. On loopback a send runs the receiver's delivery inline in the
 * kernel, so this moves that cost off the signaling thread as well as the syscall itself.
 *
 * The sender is woken only when it sleeps (a flag beside the condvar), so while it is busy a send
 * costs the main thread a mutex it almost never waits for and no syscall; and the wake itself is
 * deferred to the end of the event-loop phase (uv_check, and uv_prepare before the loop blocks),
 * so the replies to a whole recvmmsg batch cost one wake and leave in one sendmmsg. Send failures in the
 * sender cannot fail the SIP transaction that queued the datagram (it has moved on); they are
 * counted and reported to JS through a uv_async_t, which coalesces a burst into one call.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define RECV_BATCH 32
#define SEND_BATCH 64
#define MAX_DATAGRAM 65536
#define MAX_SOCKETS 64
/* How long close() and environment teardown wait for a send buffer that stays full. */
#define DRAIN_LIMIT_MS 250
/* Receive rounds per readable event, so one flooded socket cannot starve the loop. */
#define RECV_ROUNDS 8

typedef struct out_datagram {
  struct out_datagram *next;
  struct sockaddr_storage to;
  socklen_t to_len;
  size_t len;
  uint8_t data[];
} out_datagram;

typedef struct sip_instance sip_instance;

typedef struct {
  sip_instance *io;
  int fd;
  int family;
  /* An IPv6 socket bound to :: that also carries IPv4 (as IPv4-mapped addresses). */
  int dual_stack;
  int open;
  double id;
  uint32_t slot;
  uv_poll_t poll;
  uv_async_t failed_async;
  /* Both uv handles must report closed before the struct is freed. */
  int handles_open;
  napi_ref on_datagram;
  napi_ref on_send_failed;

  pthread_t sender;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  out_datagram *head, *tail;
  int sender_sleeping;
  /* Main thread only: the sender slept when a datagram was queued and has not been woken yet. */
  int wake_pending;
  int closing;
  double drain_deadline_ms;

  atomic_uint_fast64_t failed;
  atomic_int failed_errno;
} sip_socket;

struct sip_instance {
  napi_env env;
  uv_loop_t *loop;
  napi_async_context async;
  sip_socket *slots[MAX_SOCKETS];
  double next_id;
  uint32_t live;
  int tearing_down;
  napi_async_cleanup_hook_handle cleanup_hook;
  /* Wake the sleeping senders of this loop's sockets once per loop phase, not once per send. */
  uv_check_t flush_check;
  uv_prepare_t flush_prepare;
  int flush_handles;
  int wakes_pending;
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iov[RECV_BATCH];
  struct sockaddr_storage names[RECV_BATCH];
  uint8_t *bufs;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static sip_instance *instance_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

static sip_socket *socket_of(sip_instance *io, napi_env env, napi_value v) {
  double id;
  if (napi_get_value_double(env, v, &id) != napi_ok) return NULL;
  for (uint32_t i = 0; i < MAX_SOCKETS; i++) {
    sip_socket *s = io->slots[i];
    if (s != NULL && s->id == id && s->open) return s;
  }
  return NULL;
}

/*
 * Parses an IP literal (an IPv6 one may carry %scope) into a peer address for a socket of `family`:
 * IPv4 peers of a dual-stack socket become IPv4-mapped. Returns the length, or 0 with *err set.
 */
static socklen_t make_address(const char *text, int port, int family, int dual_stack, struct sockaddr_storage *out, int *err) {
  memset(out, 0, sizeof *out);
  struct in_addr v4;
  if (inet_pton(AF_INET, text, &v4) == 1) {
    if (family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)out;
      a->sin_family = AF_INET;
      a->sin_port = htons((uint16_t)port);
      a->sin_addr = v4;
      return sizeof *a;
    }
    if (!dual_stack) {
      *err = EAFNOSUPPORT;
      return 0;
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    a->sin6_addr.s6_addr[10] = 0xff;
    a->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a->sin6_addr.s6_addr[12], &v4, 4);
    return sizeof *a;
  }
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t n = strlen(text);
  if (n >= sizeof host) {
    *err = EINVAL;
    return 0;
  }
  memcpy(host, text, n + 1);
  uint32_t scope = 0;
  char *pct = strchr(host, '%');
  if (pct != NULL) {
    *pct = '\0';
    char *end = NULL;
    unsigned long numeric = strtoul(pct + 1, &end, 10);
    scope = (end != pct + 1 && *end == '\0') ? (uint32_t)numeric : if_nametoindex(pct + 1);
    if (scope == 0) {
      *err = EINVAL;
      return 0;
    }
  }
  struct in6_addr v6;
  if (inet_pton(AF_INET6, host, &v6) != 1) {
    *err = EINVAL;
    return 0;
  }
  if (family != AF_INET6) {
    *err = EAFNOSUPPORT;
    return 0;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
  a->sin6_family = AF_INET6;
  a->sin6_port = htons((uint16_t)port);
  a->sin6_addr = v6;
  a->sin6_scope_id = scope;
  return sizeof *a;
}

/* A peer address as JS compares it: IPv4-mapped IPv6 written as plain IPv4, a scope kept. */
static int address_text(const struct sockaddr_storage *from, char *text, size_t size) {
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)from;
    inet_ntop(AF_INET, &a->sin_addr, text, (socklen_t)size);
    return ntohs(a->sin_port);
  }
  const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
  if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
    inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], text, (socklen_t)size);
  } else {
    inet_ntop(AF_INET6, &a->sin6_addr, text, (socklen_t)size);
    if (a->sin6_scope_id != 0) {
      size_t n = strlen(text);
      char name[IF_NAMESIZE];
      if (if_indextoname(a->sin6_scope_id, name) != NULL) snprintf(text + n, size - n, "%%%s", name);
      else snprintf(text + n, size - n, "%%%u", a->sin6_scope_id);
    }
  }
  return ntohs(a->sin6_port);
}

/* ---- sender thread ---- */

static void count_failure(sip_socket *s, int err) {
  atomic_store_explicit(&s->failed_errno, err, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->failed, 1, memory_order_release);
}

/* Waits for room in the send buffer; false when the socket is closing and its drain time is up. */
static int wait_writable(sip_socket *s) {
  for (;;) {
    pthread_mutex_lock(&s->lock);
    int closing = s->closing;
    double deadline = s->drain_deadline_ms;
    pthread_mutex_unlock(&s->lock);
    if (closing && now_ms() >= deadline) return 0;
    struct pollfd p = {.fd = s->fd, .events = POLLOUT};
    int r = poll(&p, 1, 50);
    if (r > 0) return 1;
  }
}

/* Sends a chain in order, SEND_BATCH datagrams per sendmmsg, freeing each one. */
static void send_chain(sip_socket *s, out_datagram *d) {
  struct mmsghdr msgs[SEND_BATCH];
  struct iovec iov[SEND_BATCH];
  out_datagram *batch[SEND_BATCH];
  while (d != NULL) {
    int n = 0;
    while (d != NULL && n < SEND_BATCH) {
      batch[n] = d;
      iov[n].iov_base = d->data;
      iov[n].iov_len = d->len;
      memset(&msgs[n], 0, sizeof msgs[n]);
      msgs[n].msg_hdr.msg_name = &d->to;
      msgs[n].msg_hdr.msg_namelen = d->to_len;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      d = d->next;
      n++;
    }
    int i = 0;
    while (i < n) {
      int r = sendmmsg(s->fd, msgs + i, (unsigned)(n - i), MSG_DONTWAIT);
      if (r > 0) {
        i += r;
        continue;
      }
      int e = r == 0 ? EIO : errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
        if (wait_writable(s)) continue;
      }
      /* sendmmsg reports the first datagram that failed; skip it and keep the rest in order. */
      count_failure(s, e);
      i++;
    }
    for (int k = 0; k < n; k++) free(batch[k]);
  }
  if (atomic_load_explicit(&s->failed, memory_order_acquire) != 0) uv_async_send(&s->failed_async);
}

static void *sender_main(void *arg) {
  sip_socket *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->lock);
    while (s->head == NULL && !s->closing) {
      s->sender_sleeping = 1;
      pthread_cond_wait(&s->wake, &s->lock);
    }
    s->sender_sleeping = 0;
    out_datagram *chain = s->head;
    s->head = s->tail = NULL;
    int closing = s->closing;
    pthread_mutex_unlock(&s->lock);
    if (chain == NULL && closing) return NULL;
    send_chain(s, chain);
  }
}

/* ---- receiving ---- */

static void call_js(sip_instance *io, napi_value fn, size_t argc, napi_value *argv) {
  napi_env env = io->env;
  napi_value recv, result;
  napi_get_undefined(env, &recv);
  if (napi_call_function(env, recv, fn, argc, argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  sip_socket *s = handle->data;
  sip_instance *io = s->io;
  if (!s->open || status < 0) return;
  napi_env env = io->env;
  napi_handle_scope scope = NULL;
  napi_callback_scope cscope = NULL;
  napi_value fn = NULL;
  for (int round = 0; round < RECV_ROUNDS && s->open; round++) {
    int m = recvmmsg(s->fd, io->msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (m <= 0) break;
    if (fn == NULL) {
      napi_open_handle_scope(env, &scope);
      napi_value resource;
      napi_get_global(env, &resource);
      /* A callback scope, so promises and nextTicks queued by the handler run after the batch. */
      napi_open_callback_scope(env, resource, io->async, &cscope);
      napi_get_reference_value(env, s->on_datagram, &fn);
    }
    for (int i = 0; i < m && s->open && fn != NULL; i++) {
      if (io->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
      napi_handle_scope inner;
      if (napi_open_handle_scope(env, &inner) != napi_ok) continue;
      char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
      int port = address_text(&io->names[i], text, sizeof text);
      napi_value argv[3];
      void *copy;
      napi_create_buffer_copy(env, io->msgs[i].msg_len, io->bufs + (size_t)i * MAX_DATAGRAM, &copy, &argv[0]);
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[1]);
      napi_create_int32(env, port, &argv[2]);
      /* The handler may close this socket: s stays allocated until its uv handles are closed. */
      call_js(io, fn, 3, argv);
      napi_close_handle_scope(env, inner);
    }
    for (int i = 0; i < m; i++) io->msgs[i].msg_hdr.msg_namelen = sizeof io->names[i];
    /* A short batch emptied the queue: no need for a recvmmsg that only says EAGAIN. */
    if (m < RECV_BATCH) break;
  }
  if (cscope != NULL) napi_close_callback_scope(env, cscope);
  if (scope != NULL) napi_close_handle_scope(env, scope);
}

/* Hands the sender's failure count to JS: onSendFailed(count, errno). */
static void report_failures(sip_socket *s) {
  uint64_t n = atomic_exchange_explicit(&s->failed, 0, memory_order_acquire);
  if (n == 0 || s->on_send_failed == NULL || s->io->tearing_down) return;
  napi_env env = s->io->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, argv[2];
  napi_get_reference_value(env, s->on_send_failed, &fn);
  napi_create_double(env, (double)n, &argv[0]);
  napi_create_int32(env, atomic_load_explicit(&s->failed_errno, memory_order_relaxed), &argv[1]);
  if (fn != NULL) {
    napi_value resource;
    napi_get_global(env, &resource);
    napi_callback_scope cscope;
    napi_open_callback_scope(env, resource, s->io->async, &cscope);
    call_js(s->io, fn, 2, argv);
    napi_close_callback_scope(env, cscope);
  }
  napi_close_handle_scope(env, scope);
}

static void on_failed_async(uv_async_t *handle) { report_failures(handle->data); }

/* ---- deferred wakes ---- */

static void flush_wakes(sip_instance *io) {
  if (!io->wakes_pending) return;
  io->wakes_pending = 0;
  for (uint32_t i = 0; i < MAX_SOCKETS; i++) {
    sip_socket *s = io->slots[i];
    if (s == NULL || !s->wake_pending) continue;
    s->wake_pending = 0;
    /* Safe without the lock: a sender seen asleep under it is inside pthread_cond_wait. */
    pthread_cond_signal(&s->wake);
  }
}

static void on_check(uv_check_t *handle) { flush_wakes(handle->data); }
static void on_prepare(uv_prepare_t *handle) { flush_wakes(handle->data); }

/* ---- close and teardown ---- */

static void finish_teardown(sip_instance *io);

static void on_handle_closed(uv_handle_t *handle) {
  sip_socket *s = handle->data;
  if (--s->handles_open > 0) return;
  sip_instance *io = s->io;
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->wake);
  free(s);
  io->live--;
  if (io->tearing_down && io->live == 0 && io->flush_handles == 0) finish_teardown(io);
}

/*
 * Stops receiving, lets the sender drain its queue (bounded by DRAIN_LIMIT_MS when the send
 * buffer stays full), joins it and closes the fd. Reports failures left over when `report`.
 */
static void close_socket(sip_socket *s, int report) {
  if (!s->open) return;
  s->open = 0;
  uv_poll_stop(&s->poll);
  pthread_mutex_lock(&s->lock);
  s->closing = 1;
  s->drain_deadline_ms = now_ms() + DRAIN_LIMIT_MS;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->sender, NULL);
  close(s->fd);
  s->fd = -1;
  if (report) report_failures(s);
  napi_env env = s->io->env;
  if (s->on_datagram != NULL) napi_delete_reference(env, s->on_datagram);
  if (s->on_send_failed != NULL) napi_delete_reference(env, s->on_send_failed);
  s->on_datagram = s->on_send_failed = NULL;
  s->io->slots[s->slot] = NULL;
  uv_close((uv_handle_t *)&s->poll, on_handle_closed);
  uv_close((uv_handle_t *)&s->failed_async, on_handle_closed);
}

/* ---- JS functions ---- */

static napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static int arg_string(napi_env env, napi_value v, char *out, size_t size) {
  size_t len = 0;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_string) return 0;
  if (napi_get_value_string_utf8(env, v, out, size, &len) != napi_ok) return 0;
  return len + 1 < size;
}

static int arg_port(napi_env env, napi_value v, int min) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != (double)(int)d || d < min || d > 65535) return -1;
  return (int)d;
}

/**
 * bind(address, port, bufferBytes, onDatagram(data, address, port), onSendFailed(count, errno)):
 * a socket id (> 0), or -errno. `::` is dual-stack; another IPv6 address is IPv6-only.
 */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  sip_instance *io = instance_of(env);
  if (argc < 5) return number(env, -EINVAL);
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int port = arg_port(env, argv[1], 0);
  double buffer_bytes = 0;
  napi_get_value_double(env, argv[2], &buffer_bytes);
  if (!arg_string(env, argv[0], text, sizeof text) || port < 0) return number(env, -EINVAL);
  uint32_t slot = 0;
  while (slot < MAX_SOCKETS && io->slots[slot] != NULL) slot++;
  if (slot == MAX_SOCKETS) return number(env, -EMFILE);

  struct in_addr v4;
  int family = inet_pton(AF_INET, text, &v4) == 1 ? AF_INET : AF_INET6;
  struct sockaddr_storage local;
  int err = 0;
  int dual_stack = family == AF_INET6 && strcmp(text, "::") == 0;
  socklen_t local_len = make_address(text, port, family, 0, &local, &err);
  if (local_len == 0) return number(env, -err);
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return number(env, -errno);
  if (family == AF_INET6) {
    int v6only = !dual_stack;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (buffer_bytes > 0) {
    /* The kernel caps these at net.core.rmem_max/wmem_max; a smaller buffer is not fatal. */
    int size = (int)buffer_bytes;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  if (bind(fd, (struct sockaddr *)&local, local_len) != 0) {
    int e = errno;
    close(fd);
    return number(env, -e);
  }
  sip_socket *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return number(env, -ENOMEM);
  }
  s->io = io;
  s->fd = fd;
  s->family = family;
  s->dual_stack = dual_stack;
  s->slot = slot;
  s->id = ++io->next_id;
  atomic_init(&s->failed, 0);
  atomic_init(&s->failed_errno, 0);
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->wake, NULL);
  int e = uv_poll_init(io->loop, &s->poll, fd);
  if (e != 0) {
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
    close(fd);
    return number(env, e);
  }
  s->poll.data = s;
  uv_async_init(io->loop, &s->failed_async, on_failed_async);
  s->failed_async.data = s;
  s->handles_open = 2;
  io->live++;
  e = pthread_create(&s->sender, NULL, sender_main, s);
  if (e != 0) {
    close(fd);
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
    uv_close((uv_handle_t *)&s->failed_async, on_handle_closed);
    return number(env, -e);
  }
  napi_create_reference(env, argv[3], 1, &s->on_datagram);
  napi_create_reference(env, argv[4], 1, &s->on_send_failed);
  s->open = 1;
  io->slots[slot] = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  return number(env, s->id);
}

/** localAddress(id): [address, port] of the bound socket, or undefined. */
static napi_value js_local_address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  sip_socket *s = argc < 1 ? NULL : socket_of(instance_of(env), env, argv[0]);
  if (s == NULL) return NULL;
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  if (getsockname(s->fd, (struct sockaddr *)&a, &len) != 0) return NULL;
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int port = address_text(&a, text, sizeof text);
  /* `::` itself, not an IPv4 reading of it. */
  if (a.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&a)->sin6_addr)) strcpy(text, "::");
  napi_value result, t, p;
  napi_create_array_with_length(env, 2, &result);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &t);
  napi_create_int32(env, port, &p);
  napi_set_element(env, result, 0, t);
  napi_set_element(env, result, 1, p);
  return result;
}

/**
 * send(id, data, port, address): 0 when queued, else -errno (EBADF: closed socket, EINVAL: bad
 * port or address, EAFNOSUPPORT: wrong family, EMSGSIZE: too large). Delivery is not reported.
 */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return number(env, -EINVAL);
  sip_socket *s = socket_of(instance_of(env), env, argv[0]);
  if (s == NULL) return number(env, -EBADF);
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) return number(env, -EINVAL);
  if (len > MAX_DATAGRAM) return number(env, -EMSGSIZE);
  int port = arg_port(env, argv[2], 1);
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (port < 0 || !arg_string(env, argv[3], text, sizeof text)) return number(env, -EINVAL);
  out_datagram *d = malloc(sizeof *d + len);
  if (d == NULL) return number(env, -ENOMEM);
  int err = 0;
  d->to_len = make_address(text, port, s->family, s->dual_stack, &d->to, &err);
  if (d->to_len == 0) {
    free(d);
    return number(env, -err);
  }
  d->next = NULL;
  d->len = len;
  memcpy(d->data, data, len);
  pthread_mutex_lock(&s->lock);
  if (s->tail != NULL) s->tail->next = d;
  else s->head = d;
  s->tail = d;
  int sleeping = s->sender_sleeping;
  pthread_mutex_unlock(&s->lock);
  if (sleeping && !s->wake_pending) {
    s->wake_pending = 1;
    s->io->wakes_pending = 1;
  }
  return number(env, 0);
}

/** close(id): stops receiving, sends what is queued (bounded), reports leftover failures; idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  sip_socket *s = argc < 1 ? NULL : socket_of(instance_of(env), env, argv[0]);
  if (s != NULL) close_socket(s, 1);
  return NULL;
}

static void on_flush_handle_closed(uv_handle_t *handle) {
  sip_instance *io = handle->data;
  if (--io->flush_handles == 0 && io->live == 0) finish_teardown(io);
}

static void finish_teardown(sip_instance *io) {
  napi_async_cleanup_hook_handle hook = io->cleanup_hook;
  free(io->bufs);
  free(io);
  napi_remove_async_cleanup_hook(hook);
}

/* Environment teardown (process exit or worker termination): close every socket, then free. */
static void on_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  sip_instance *io = arg;
  io->cleanup_hook = hook;
  io->tearing_down = 1;
  for (uint32_t i = 0; i < MAX_SOCKETS; i++) {
    if (io->slots[i] != NULL) close_socket(io->slots[i], 0);
  }
  if (io->async != NULL) napi_async_destroy(io->env, io->async);
  io->async = NULL;
  uv_close((uv_handle_t *)&io->flush_check, on_flush_handle_closed);
  uv_close((uv_handle_t *)&io->flush_prepare, on_flush_handle_closed);
}

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, "SIP_IO", msg);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  sip_instance *io = calloc(1, sizeof *io);
  if (io == NULL) return throw_error(env, "sip-io: out of memory");
  io->bufs = malloc((size_t)RECV_BATCH * MAX_DATAGRAM);
  if (io->bufs == NULL) {
    free(io);
    return throw_error(env, "sip-io: out of memory");
  }
  io->env = env;
  for (int i = 0; i < RECV_BATCH; i++) {
    io->iov[i].iov_base = io->bufs + (size_t)i * MAX_DATAGRAM;
    io->iov[i].iov_len = MAX_DATAGRAM;
    io->msgs[i].msg_hdr.msg_iov = &io->iov[i];
    io->msgs[i].msg_hdr.msg_iovlen = 1;
    io->msgs[i].msg_hdr.msg_name = &io->names[i];
    io->msgs[i].msg_hdr.msg_namelen = sizeof io->names[i];
  }
  struct uv_loop_s *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  if (loop == NULL) {
    free(io->bufs);
    free(io);
    return throw_error(env, "sip-io: no event loop");
  }
  io->loop = loop;
  /* Unreferenced: they must not keep the loop (and the process or worker) alive by themselves. */
  uv_check_init(loop, &io->flush_check);
  uv_prepare_init(loop, &io->flush_prepare);
  io->flush_check.data = io;
  io->flush_prepare.data = io;
  uv_check_start(&io->flush_check, on_check);
  uv_prepare_start(&io->flush_prepare, on_prepare);
  uv_unref((uv_handle_t *)&io->flush_check);
  uv_unref((uv_handle_t *)&io->flush_prepare);
  io->flush_handles = 2;
  napi_value name;
  napi_create_string_utf8(env, "trunkline:sip-io", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &io->async);
  napi_set_instance_data(env, io, NULL, NULL);
  napi_add_async_cleanup_hook(env, on_cleanup, io, NULL);

  napi_property_descriptor props[] = {
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
      {"localAddress", NULL, js_local_address, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE_INIT() { return Init(env, exports); }
