/* linkstats.c: rtnetlink link dump and monitor with libmnl. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "linkstats.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

/* Large enough for many RTM_NEWLINK messages per recv(). */
#define RECV_BUFFER_SIZE (64 * 1024)

struct _VnmLinkStats {
  struct mnl_socket *dump_sock;
  guint32 dump_portid;
  guint32 seq;
  struct mnl_socket *monitor_sock;
  guint monitor_source;
  VnmLinkEventFunc func;
  gpointer user_data;
  /* ifindex -> interned kind for links whose kind needs sysfs to tell. */
  GHashTable *sysfs_kind;
  gchar *buf;
};

static const gchar *
operstate_name (guint8 s)
{
  switch (s)
    {
    case IF_OPER_UP: return "up";
    case IF_OPER_DOWN: return "down";
    case IF_OPER_LOWERLAYERDOWN: return "lowerlayerdown";
    case IF_OPER_DORMANT: return "dormant";
    case IF_OPER_TESTING: return "testing";
    case IF_OPER_NOTPRESENT: return "notpresent";
    case IF_OPER_UNKNOWN:
    default: return "unknown";
    }
}

static gint64
read_sysfs_speed (const gchar *name)
{
  g_autofree gchar *path = g_strdup_printf ("/sys/class/net/%s/speed", name);
  g_autofree gchar *text = NULL;
  gint64 v;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  g_strstrip (text);
  if (!g_ascii_string_to_signed (text, 10, 0, G_MAXINT32, &v, NULL))
    return -1;
  return v;
}

/* Links with no rtnl kind: loopback, physical NICs (a sysfs "device" link),
 * or something else. Cached per ifindex: that does not change. */
static const gchar *
kind_without_linkinfo (VnmLinkStats *ls, gint ifindex, guint16 type, const gchar *name)
{
  const gchar *kind;
  g_autofree gchar *path = NULL;

  if (type == ARPHRD_LOOPBACK)
    return "loopback";
  kind = g_hash_table_lookup (ls->sysfs_kind, GINT_TO_POINTER (ifindex));
  if (kind)
    return kind;
  path = g_strdup_printf ("/sys/class/net/%s/device", name);
  kind = g_file_test (path, G_FILE_TEST_EXISTS) ? "physical" : "other";
  g_hash_table_insert (ls->sysfs_kind, GINT_TO_POINTER (ifindex), (gpointer) kind);
  return kind;
}

typedef struct {
  const struct nlattr *tb[IFLA_MAX + 1];
} LinkAttrs;

static int
link_attr_cb (const struct nlattr *attr, void *data)
{
  LinkAttrs *a = data;
  int type = mnl_attr_get_type (attr);

  if (mnl_attr_type_valid (attr, IFLA_MAX) < 0)
    return MNL_CB_OK;
  a->tb[type] = attr;
  return MNL_CB_OK;
}

typedef struct {
  const struct nlattr *tb[IFLA_INFO_MAX + 1];
} InfoAttrs;

static int
info_attr_cb (const struct nlattr *attr, void *data)
{
  InfoAttrs *a = data;

  if (mnl_attr_type_valid (attr, IFLA_INFO_MAX) < 0)
    return MNL_CB_OK;
  a->tb[mnl_attr_get_type (attr)] = attr;
  return MNL_CB_OK;
}

static int
tun_attr_cb (const struct nlattr *attr, void *data)
{
  guint8 *tun_type = data;

  if (mnl_attr_get_type (attr) == IFLA_TUN_TYPE &&
      mnl_attr_validate (attr, MNL_TYPE_U8) >= 0)
    *tun_type = mnl_attr_get_u8 (attr);
  return MNL_CB_OK;
}

static const gchar *
kind_from_linkinfo (const struct nlattr *linkinfo)
{
  InfoAttrs info = { 0 };
  const gchar *kind;

  mnl_attr_parse_nested (linkinfo, info_attr_cb, &info);
  if (!info.tb[IFLA_INFO_KIND])
    return NULL;
  kind = mnl_attr_get_str (info.tb[IFLA_INFO_KIND]);
  if (g_str_equal (kind, "tun"))
    {
      guint8 tun_type = 0;
      if (info.tb[IFLA_INFO_DATA])
        mnl_attr_parse_nested (info.tb[IFLA_INFO_DATA], tun_attr_cb, &tun_type);
      return tun_type == IFF_TUN ? "tun" : "tap";
    }
  if (g_str_equal (kind, "openvswitch"))
    return "ovs";
  return g_intern_string (kind);
}

/* Fills @link from one RTM_NEWLINK/RTM_DELLINK message. */
static gboolean
parse_link (VnmLinkStats *ls, const struct nlmsghdr *nlh, VnmLink *link)
{
  const struct ifinfomsg *ifm = mnl_nlmsg_get_payload (nlh);
  LinkAttrs a = { 0 };

  memset (link, 0, sizeof *link);
  /* The bridge (AF_BRIDGE) and IPv6 (AF_INET6) announce their per-port state
   * as RTM_NEWLINK/RTM_DELLINK too, without statistics, and an AF_BRIDGE
   * RTM_DELLINK only means "left the bridge".  Only the device's own
   * messages describe the device. */
  if (ifm->ifi_family != AF_UNSPEC)
    return FALSE;
  mnl_attr_parse (nlh, sizeof *ifm, link_attr_cb, &a);
  if (!a.tb[IFLA_IFNAME])
    return FALSE;
  link->ifindex = ifm->ifi_index;
  g_strlcpy (link->name, mnl_attr_get_str (a.tb[IFLA_IFNAME]), sizeof link->name);
  link->state = operstate_name (a.tb[IFLA_OPERSTATE] ? mnl_attr_get_u8 (a.tb[IFLA_OPERSTATE])
                                                     : IF_OPER_UNKNOWN);
  /* An administratively down device reports "down" whatever operstate says. */
  if (!(ifm->ifi_flags & IFF_UP))
    link->state = "down";
  link->mtu = a.tb[IFLA_MTU] ? mnl_attr_get_u32 (a.tb[IFLA_MTU]) : 0;
  link->master_ifindex = a.tb[IFLA_MASTER] ? (gint) mnl_attr_get_u32 (a.tb[IFLA_MASTER]) : 0;
  /* A lower device in another namespace (IFLA_LINK_NETNSID) has an
   * ifindex of that namespace: none here. */
  link->lower_ifindex = a.tb[IFLA_LINK] && !a.tb[IFLA_LINK_NETNSID]
    ? (gint) mnl_attr_get_u32 (a.tb[IFLA_LINK]) : 0;
  if (link->lower_ifindex == link->ifindex)
    link->lower_ifindex = 0;
  link->speed_mbps = -1;

  if (a.tb[IFLA_ADDRESS] && mnl_attr_get_payload_len (a.tb[IFLA_ADDRESS]) == 6 &&
      ifm->ifi_type == ARPHRD_ETHER)
    {
      const guint8 *m = mnl_attr_get_payload (a.tb[IFLA_ADDRESS]);
      g_snprintf (link->mac, sizeof link->mac, "%02x:%02x:%02x:%02x:%02x:%02x",
                  m[0], m[1], m[2], m[3], m[4], m[5]);
    }

  link->kind = a.tb[IFLA_LINKINFO] ? kind_from_linkinfo (a.tb[IFLA_LINKINFO]) : NULL;
  if (!link->kind)
    link->kind = kind_without_linkinfo (ls, link->ifindex, ifm->ifi_type, link->name);
  if (g_str_equal (link->kind, "physical"))
    link->speed_mbps = read_sysfs_speed (link->name);

  if (a.tb[IFLA_STATS64] &&
      mnl_attr_get_payload_len (a.tb[IFLA_STATS64]) >= sizeof (struct rtnl_link_stats64))
    {
      struct rtnl_link_stats64 s;
      memcpy (&s, mnl_attr_get_payload (a.tb[IFLA_STATS64]), sizeof s);
      link->counters = (VnmCounters) {
        .rx_bytes = s.rx_bytes, .rx_packets = s.rx_packets,
        .rx_errors = s.rx_errors, .rx_dropped = s.rx_dropped,
        .tx_bytes = s.tx_bytes, .tx_packets = s.tx_packets,
        .tx_errors = s.tx_errors, .tx_dropped = s.tx_dropped,
      };
    }
  else if (a.tb[IFLA_STATS] &&
           mnl_attr_get_payload_len (a.tb[IFLA_STATS]) >= sizeof (struct rtnl_link_stats))
    {
      struct rtnl_link_stats s;
      memcpy (&s, mnl_attr_get_payload (a.tb[IFLA_STATS]), sizeof s);
      link->counters = (VnmCounters) {
        .rx_bytes = s.rx_bytes, .rx_packets = s.rx_packets,
        .rx_errors = s.rx_errors, .rx_dropped = s.rx_dropped,
        .tx_bytes = s.tx_bytes, .tx_packets = s.tx_packets,
        .tx_errors = s.tx_errors, .tx_dropped = s.tx_dropped,
      };
    }
  return TRUE;
}

static struct mnl_socket *
open_socket (guint groups, GError **error)
{
  struct mnl_socket *sock = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);

  if (!sock)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                   _("Cannot open an rtnetlink socket: %s"), g_strerror (errno));
      return NULL;
    }
  if (mnl_socket_bind (sock, groups, MNL_SOCKET_AUTOPID) < 0)
    {
      int saved = errno;
      mnl_socket_close (sock);
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                   _("Cannot bind an rtnetlink socket: %s"), g_strerror (saved));
      return NULL;
    }
  return sock;
}

VnmLinkStats *
vnm_linkstats_new (GError **error)
{
  VnmLinkStats *ls = g_new0 (VnmLinkStats, 1);

  ls->dump_sock = open_socket (0, error);
  if (!ls->dump_sock)
    {
      g_free (ls);
      return NULL;
    }
  ls->dump_portid = mnl_socket_get_portid (ls->dump_sock);
  ls->seq = (guint32) time (NULL);
  ls->sysfs_kind = g_hash_table_new (NULL, NULL);
  ls->buf = g_malloc (RECV_BUFFER_SIZE);
  return ls;
}

void
vnm_linkstats_free (VnmLinkStats *ls)
{
  if (!ls)
    return;
  if (ls->monitor_source)
    g_source_remove (ls->monitor_source);
  if (ls->monitor_sock)
    mnl_socket_close (ls->monitor_sock);
  if (ls->dump_sock)
    mnl_socket_close (ls->dump_sock);
  g_hash_table_unref (ls->sysfs_kind);
  g_free (ls->buf);
  g_free (ls);
}

typedef struct {
  VnmLinkStats *ls;
  GArray *out;
  gboolean interrupted;
} DumpCtx;

static int
dump_cb (const struct nlmsghdr *nlh, void *data)
{
  DumpCtx *ctx = data;
  VnmLink link;

  if (nlh->nlmsg_type == RTM_NEWLINK && parse_link (ctx->ls, nlh, &link))
    g_array_append_val (ctx->out, link);
  return MNL_CB_OK;
}

/* Whether @buf holds the end of a dump (or its error). */
static gboolean
holds_dump_end (const void *buf, ssize_t n)
{
  const struct nlmsghdr *nlh = buf;
  int len = (int) n;

  for (; mnl_nlmsg_ok (nlh, len); nlh = mnl_nlmsg_next (nlh, &len))
    if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
      return TRUE;
  return FALSE;
}

gboolean
vnm_linkstats_dump (gpointer user_data, GArray *out, gboolean *interrupted, GError **error)
{
  VnmLinkStats *ls = user_data;
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifm;
  DumpCtx ctx = { ls, out, FALSE };
  guint32 seq = ++ls->seq;
  int ret;

  g_array_set_size (out, 0);
  *interrupted = FALSE;
  /* What an earlier dump that failed half-way left unread goes first: its
   * sequence number would fail this one. */
  while (recv (mnl_socket_get_fd (ls->dump_sock), ls->buf, RECV_BUFFER_SIZE, MSG_DONTWAIT) > 0)
    ;
  nlh = mnl_nlmsg_put_header (ls->buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  ifm = mnl_nlmsg_put_extra_header (nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;

  if (mnl_socket_sendto (ls->dump_sock, nlh, nlh->nlmsg_len) < 0)
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                   _("Cannot request the link list from the kernel: %s"), g_strerror (errno));
      return FALSE;
    }
  for (;;)
    {
      ssize_t n = mnl_socket_recvfrom (ls->dump_sock, ls->buf, RECV_BUFFER_SIZE);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                       _("Cannot read the link list from the kernel: %s"), g_strerror (errno));
          return FALSE;
        }
      /* The rest of an interrupted dump is read and thrown away, so that
       * the next dump starts on an empty socket. */
      if (ctx.interrupted)
        {
          if (holds_dump_end (ls->buf, n))
            {
              *interrupted = TRUE;
              return TRUE;
            }
          continue;
        }
      ret = mnl_cb_run (ls->buf, n, seq, ls->dump_portid, dump_cb, &ctx);
      if (ret == MNL_CB_STOP)
        {
          *interrupted = ctx.interrupted;
          return TRUE;
        }
      if (ret < 0)
        {
          /* libmnl says EINTR for a message flagged NLM_F_DUMP_INTR, which
           * may come before the end of the dump: the list changed while it
           * was read, so what we have is not the list. */
          if (errno == EINTR)
            {
              ctx.interrupted = TRUE;
              if (holds_dump_end (ls->buf, n))
                {
                  *interrupted = TRUE;
                  return TRUE;
                }
              continue;
            }
          g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                       _("The kernel's link list could not be parsed: %s"), g_strerror (errno));
          return FALSE;
        }
    }
}

static int
count_cb (const struct nlmsghdr *nlh, void *data)
{
  if (nlh->nlmsg_type == RTM_NEWTFILTER)
    (*(gint *) data)++;
  return MNL_CB_OK;
}

gint
vnm_linkstats_count_tc_filters (VnmLinkStats *ls, gint ifindex, gboolean egress)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (ls->buf);
  struct tcmsg *tcm;
  guint32 seq = ++ls->seq;
  gint count = 0;

  nlh->nlmsg_type = RTM_GETTFILTER;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  tcm = mnl_nlmsg_put_extra_header (nlh, sizeof *tcm);
  tcm->tcm_family = AF_UNSPEC;
  tcm->tcm_ifindex = ifindex;
  tcm->tcm_parent = TC_H_MAKE (TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
  if (mnl_socket_sendto (ls->dump_sock, nlh, nlh->nlmsg_len) < 0)
    return -1;
  for (;;)
    {
      ssize_t n = mnl_socket_recvfrom (ls->dump_sock, ls->buf, RECV_BUFFER_SIZE);
      int ret;
      if (n < 0)
        return -1;
      ret = mnl_cb_run (ls->buf, n, seq, ls->dump_portid, count_cb, &count);
      if (ret == MNL_CB_STOP)
        return count;
      if (ret < 0)
        return -1;
    }
}

static int
monitor_cb (const struct nlmsghdr *nlh, void *data)
{
  VnmLinkStats *ls = data;
  VnmLink link;

  if ((nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK) &&
      parse_link (ls, nlh, &link))
    {
      if (nlh->nlmsg_type == RTM_DELLINK)
        g_hash_table_remove (ls->sysfs_kind, GINT_TO_POINTER (link.ifindex));
      ls->func (nlh->nlmsg_type == RTM_NEWLINK ? VNM_LINK_EVENT_NEW : VNM_LINK_EVENT_DEL,
                &link, ls->user_data);
    }
  return MNL_CB_OK;
}

static gboolean
monitor_readable (gint fd, GIOCondition cond, gpointer user_data)
{
  VnmLinkStats *ls = user_data;
  ssize_t n = mnl_socket_recvfrom (ls->monitor_sock, ls->buf, RECV_BUFFER_SIZE);

  if (n < 0)
    {
      if (errno == ENOBUFS)
        ls->func (VNM_LINK_EVENT_RESYNC, NULL, ls->user_data);
      else if (errno != EINTR && errno != EAGAIN)
        g_warning (_("Link monitor read failed: %s"), g_strerror (errno));
      return G_SOURCE_CONTINUE;
    }
  mnl_cb_run (ls->buf, n, 0, 0, monitor_cb, ls);
  return G_SOURCE_CONTINUE;
}

gboolean
vnm_linkstats_monitor (VnmLinkStats *ls, VnmLinkEventFunc func, gpointer user_data,
                       GError **error)
{
  g_return_val_if_fail (ls->monitor_sock == NULL, FALSE);

  ls->monitor_sock = open_socket (RTMGRP_LINK, error);
  if (!ls->monitor_sock)
    return FALSE;
  g_unix_set_fd_nonblocking (mnl_socket_get_fd (ls->monitor_sock), TRUE, NULL);
  ls->func = func;
  ls->user_data = user_data;
  ls->monitor_source = g_unix_fd_add (mnl_socket_get_fd (ls->monitor_sock), G_IO_IN,
                                      monitor_readable, ls);
  return TRUE;
}
