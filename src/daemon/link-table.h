/* link-table.h: the host's network interfaces now, by ifindex and by name,
 * with their rates; who owns each (a running domain, a Proxmox-style VM id
 * from the name, or nobody) and in whose view its rx/tx are read; one walk
 * over the host netdevs of monitored VMs. The only place that recognises a
 * device recreated under the same name. Pure: the kernel is read through a
 * VnmLinkDumpFunc (linkstats in the daemon, a fake in the unit tests). */
#pragma once

#include <glib.h>

#include "link.h"
#include "registry.h"
#include "sampler.h"

/* Fills @out with every link (cleared first). Returns FALSE with @error
 * when the kernel could not be read; TRUE with *@interrupted when the list
 * changed while it was read, so that @out is not to be trusted. */
typedef gboolean (*VnmLinkDumpFunc) (gpointer user_data, GArray *out, gboolean *interrupted,
                                     GError **error);

/* How often an interrupted dump is tried again before the refresh gives up
 * (and keeps the table it had). */
#define VNM_LINK_DUMP_ATTEMPTS 4

typedef enum {
  VNM_LINK_ADDED,
  VNM_LINK_CHANGED,      /* state, name, master, MTU, MAC or kind changed */
  VNM_LINK_REMOVED,      /* called just before the entry goes */
} VnmLinkChange;

/* Called for each change the table sees. A device recreated under a name
 * the table holds for another ifindex is the old one REMOVED, then the new
 * one ADDED with @recreated TRUE. */
typedef void (*VnmLinkTableFunc) (VnmLinkChange change, const VnmLink *link, gboolean recreated,
                                  gpointer user_data);

typedef struct _VnmLinkTable VnmLinkTable;

/* @registry says who owns which device; @defaults (borrowed, every field
 * set) decide which domains are monitored. */
VnmLinkTable *vnm_link_table_new (VnmRegistry *registry, const VnmDomainSettings *defaults);
void vnm_link_table_free (VnmLinkTable *table);
void vnm_link_table_set_observer (VnmLinkTable *table, VnmLinkTableFunc func, gpointer user_data);

/* Reads every link with @dump into a scratch table and, only once a dump
 * came back complete, makes it the live table (an interrupted dump is
 * tried again, VNM_LINK_DUMP_ATTEMPTS times in all), then updates the
 * rates of every link to @now_us (monotonic). On failure the live table and
 * its rates stay as they were, and @error says why. */
gboolean vnm_link_table_refresh (VnmLinkTable *table, VnmLinkDumpFunc dump, gpointer dump_data,
                                 gint64 now_us, GError **error);
/* A link monitor's news: @link was added or changed. A new link gets a
 * baseline for its rates at @now_us. */
void vnm_link_table_upsert (VnmLinkTable *table, const VnmLink *link, gint64 now_us);
/* A link monitor's news: @ifindex is gone. */
void vnm_link_table_remove (VnmLinkTable *table, gint ifindex);

guint vnm_link_table_size (VnmLinkTable *table);
/* The @i-th link, in the kernel's order; valid until the next change. */
const VnmLink *vnm_link_table_index (VnmLinkTable *table, guint i);
const VnmLink *vnm_link_table_lookup_name (VnmLinkTable *table, const gchar *name);
const VnmLink *vnm_link_table_lookup_ifindex (VnmLinkTable *table, gint ifindex);

/* Who owns a host netdev: the domain whose XML (or QEMU command line) names
 * it, or only a VM id from a Proxmox-style name (tap105i1), or nobody. */
typedef struct {
  const VnmDomain *domain;  /* NULL when no known domain owns it */
  const VnmDomainInterface *iface; /* the domain's interface, or NULL */
  const gchar *mapped_by;   /* VNM_MAPPED_BY_*, "" for nobody */
  const gchar *vm_name;     /* "" when unknown */
  const gchar *vm_uuid;     /* "" when unknown */
  gchar vm_id[16];          /* "" when none */
  gboolean guest_view;      /* a VM's device: rx/tx are in the guest's view
                               (swapped from the host's unless
                               vnm_link_kind_counts_as_guest()) */
} VnmLinkOwner;

/* Whether a VM's host netdev of @kind counts traffic the way the guest
 * does: macvtap and ipvtap, where what the guest sends leaves through the
 * device (its tx) and what it receives arrives on it (its rx), as virsh
 * domifstat shows them unswapped. FALSE for a tap (and any other kind):
 * what the guest sends is the tap's rx, so its counters are swapped for the
 * guest's view, and the probe's tc ingress sees the guest's packets. */
gboolean vnm_link_kind_counts_as_guest (const gchar *kind);

void vnm_link_table_owner (VnmLinkTable *table, const VnmLink *link, VnmLinkOwner *out);

/* A link's counters and current rates as a row shows them: in the guest's
 * view for a VM's device (a tap's swapped: the host receives what the
 * guest sends; a macvtap's as they are), the host's view otherwise. */
typedef struct {
  VnmCounters counters;
  VnmRates rates;
  gint64 span_us;           /* the time the rates cover; 0 before a second reading */
} VnmLinkView;

void vnm_link_table_view (VnmLinkTable *table, const VnmLink *link, gboolean guest_view,
                          VnmLinkView *out);
/* @a += @b, field by field. */
void vnm_link_view_add (VnmLinkView *a, const VnmLinkView *b);
/* @host's counters as the guest sees them. */
void vnm_counters_guest_view (const VnmCounters *host, VnmCounters *guest);

/* Called for each interface of a domain that has a host netdev now. */
typedef void (*VnmVmLinkFunc) (const VnmDomain *domain, const VnmDomainInterface *iface,
                               const VnmLink *link, gpointer user_data);

/* Walks the host netdevs of every domain whose settings (with the
 * defaults) keep monitoring on, in domain order. */
void vnm_link_table_foreach_vm_link (VnmLinkTable *table, VnmVmLinkFunc func, gpointer user_data);
/* Walks the host netdevs of @domain that exist now, monitored or not;
 * @iface_name (netdev name) picks one, NULL all. */
void vnm_link_table_foreach_domain_link (VnmLinkTable *table, const VnmDomain *domain,
                                         const gchar *iface_name, VnmVmLinkFunc func,
                                         gpointer user_data);
/* The link of @iface (its host netdev) now, or NULL. */
const VnmLink *vnm_link_table_lookup_iface (VnmLinkTable *table, const VnmDomainInterface *iface);
/* @domain's settings with every unset field taken from the table's
 * defaults. */
void vnm_link_table_effective_settings (VnmLinkTable *table, const VnmDomain *domain,
                                        VnmDomainSettings *out);
/* Whether those keep monitoring on. */
gboolean vnm_link_table_monitored (VnmLinkTable *table, const VnmDomain *domain);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLinkTable, vnm_link_table_free)
