/* daemon.h: the state of virtnetmond that the modules share. Each field is
 * owned by the module that fills it; main.c wires them together. */
#pragma once

#include <glib.h>

#include "history.h"
#include "kernel-caps.h"
#include "linkstats.h"
#include "registry.h"
#include "sampler.h"

typedef struct _VnmLibvirtWatch VnmLibvirtWatch;
typedef struct _VnmDbusService VnmDbusService;
typedef struct _VnmFlowMonitor VnmFlowMonitor;
typedef struct _VnmLatencyMonitor VnmLatencyMonitor;

typedef struct {
  gdouble interval_s;
  VnmRegistry *registry;
  VnmLinkStats *linkstats;
  VnmSampler *sampler;
  GArray *links;            /* of VnmLink: the host's interfaces now */
  GHashTable *link_by_name; /* name -> index into links */
  VnmLibvirtWatch *libvirt;
  VnmKernelCaps *caps;
  VnmDbusService *dbus;
  VnmFlowMonitor *flows;    /* the per-VM flow probe; never NULL once started */
  VnmLatencyMonitor *latency; /* datapath latency and drops; never NULL once started */
  VnmHistory *history;      /* rates of every interface and domain, 48 h */
  /* What applies to a domain whose <metadata> leaves a setting out
   * (virtnetmond.conf [domains]); every field set. */
  VnmDomainSettings defaults;
  const gchar *proc_root;   /* for the QEMU scan, normally /proc */
  /* Brings the link table and the probes up to date now, instead of at the
   * next idle: for callers that must not return before (the libvirt hook). */
  void (*settle) (void);
} VnmDaemon;

/* The link named @name now, or NULL. */
const VnmLink *vnm_daemon_find_link (VnmDaemon *daemon, const gchar *name);
