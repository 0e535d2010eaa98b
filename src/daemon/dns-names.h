/* dns-names.h: per VM, the names it looked up and the addresses they gave
 * (address -> name), learned from the DNS answers sent to it. An entry
 * lives max(TTL, VNM_DNS_NAMES_MIN_S) from the answer and at least
 * VNM_DNS_NAMES_MIN_S from when a flow of the VM last used its address;
 * at most VNM_DNS_NAMES_PER_VM per VM: a new name when the VM's are all
 * live is not kept, and counted. Times are monotonic microseconds. Pure. */
#pragma once

#include <glib.h>

#define VNM_DNS_NAMES_MIN_S 600
#define VNM_DNS_NAMES_PER_VM 1024

typedef struct _VnmDnsNames VnmDnsNames;

VnmDnsNames *vnm_dns_names_new (guint per_vm);
void vnm_dns_names_free (VnmDnsNames *names);

/* VM @vm_uuid was told @name has @addr (key form), for @ttl seconds. */
void vnm_dns_names_add (VnmDnsNames *names, const gchar *vm_uuid, guint8 family,
                        const guint8 addr[16], const gchar *name, guint32 ttl, gint64 now_us);
/* A flow of @vm_uuid to @addr was active at @now_us: its name lives on. */
void vnm_dns_names_touch (VnmDnsNames *names, const gchar *vm_uuid, guint8 family,
                          const guint8 addr[16], gint64 now_us);
/* The name @vm_uuid looked up for @addr, or NULL. */
const gchar *vnm_dns_names_lookup (VnmDnsNames *names, const gchar *vm_uuid, guint8 family,
                                   const guint8 addr[16], gint64 now_us);
/* Drops expired entries and VMs without any. */
void vnm_dns_names_expire (VnmDnsNames *names, gint64 now_us);
/* The VM is gone. */
void vnm_dns_names_forget_vm (VnmDnsNames *names, const gchar *vm_uuid);
guint vnm_dns_names_count (VnmDnsNames *names);
/* Names not kept because their VM's were full. */
guint64 vnm_dns_names_overflow (VnmDnsNames *names);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmDnsNames, vnm_dns_names_free)
